/**
 * Published on-demand prices the bench turns measurements into dollars with: us-east-1
 * (N. Virginia), no free tier, first pricing tier. One entry per price, each with where it
 * comes from and when it was read. Change a price here and nothing else.
 */

export interface Price {
  /** US dollars per `unit`. */
  readonly usd: number;
  /** What one `usd` buys, e.g. "1,000,000 messages". */
  readonly per: string;
  /** The number of units in `per` (1,000,000 for "per million"). */
  readonly quantity: number;
  /** The page that publishes it. */
  readonly source: string;
  /** When it was read (ISO date), and how. */
  readonly read: string;
  readonly note?: string;
}

const READ =
  '2026-11-22: as published for us-east-1 on the page named in `source` (the bench machine has no ' +
  'web access; the figures were checked against secondary summaries of that page on that date)';

/** The prices the push section added (issue 15), read the same way. */
const READ_PUSH = READ.replace('2026-11-22', '2026-11-27');

export const prices = {
  /** API Gateway WebSocket API: messages sent and received, metered in 32 KB increments. */
  apiGatewayMessages: {
    usd: 1.0,
    per: '1,000,000 messages (first 1 billion per month), metered in 32 KB increments',
    quantity: 1_000_000,
    source: 'https://aws.amazon.com/api-gateway/pricing/ (WebSocket APIs)',
    read: READ,
    note: 'A 33 KB message is billed as two. Both directions count: the frame in, the reply, each post.',
  },
  /** API Gateway WebSocket API: connection minutes. */
  apiGatewayConnectionMinutes: {
    usd: 0.25,
    per: '1,000,000 connection minutes',
    quantity: 1_000_000,
    source: 'https://aws.amazon.com/api-gateway/pricing/ (WebSocket APIs)',
    read: READ,
  },
  /** Lambda requests (any architecture). */
  lambdaRequests: {
    usd: 0.2,
    per: '1,000,000 requests',
    quantity: 1_000_000,
    source: 'https://aws.amazon.com/lambda/pricing/ (Arm price, requests)',
    read: READ,
  },
  /** Lambda duration on arm64 (Graviton), first tier (first 7.5 billion GB-seconds per month). */
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 'GB-second (arm64, first 7.5 billion GB-seconds per month), billed in 1 ms increments',
    quantity: 1,
    source: 'https://aws.amazon.com/lambda/pricing/ (Arm price, duration)',
    read: READ,
  },
  /** DynamoDB on-demand write request units (Standard table class). */
  dynamoWriteRequestUnits: {
    usd: 0.625,
    per: '1,000,000 write request units (on-demand, Standard table class)',
    quantity: 1_000_000,
    source:
      'https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 50% on-demand throughput price ' +
      "reduction announced in AWS What's New, 14 November 2024)",
    read: READ,
    note: 'One WRU writes up to 1 KB; a transactional write costs two per KB.',
  },
  /** DynamoDB on-demand read request units (Standard table class). */
  dynamoReadRequestUnits: {
    usd: 0.125,
    per: '1,000,000 read request units (on-demand, Standard table class)',
    quantity: 1_000_000,
    source:
      'https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 50% on-demand throughput price ' +
      "reduction announced in AWS What's New, 14 November 2024)",
    read: READ,
    note: 'One RRU reads up to 4 KB strongly consistent, or two eventually consistent reads (0.5 RRU each).',
  },
  /** S3 Standard PUT, COPY, POST, LIST requests (PutObject, PutObjectTagging). */
  s3PutRequests: {
    usd: 0.005,
    per: '1,000 requests (S3 Standard: PUT, COPY, POST, LIST)',
    quantity: 1_000,
    source: 'https://aws.amazon.com/s3/pricing/ (Requests & data retrievals)',
    read: READ,
  },
  /** S3 Standard GET, SELECT and all other requests (GetObject, HeadObject). */
  s3GetRequests: {
    usd: 0.0004,
    per: '1,000 requests (S3 Standard: GET, SELECT, and all other requests)',
    quantity: 1_000,
    source: 'https://aws.amazon.com/s3/pricing/ (Requests & data retrievals)',
    read: READ,
  },
  /** S3 Standard storage, first 50 TB a month. */
  s3StorageGbMonth: {
    usd: 0.023,
    per: 'GB-month (S3 Standard, first 50 TB per month)',
    quantity: 1,
    source: 'https://aws.amazon.com/s3/pricing/ (Storage)',
    read: READ,
  },
  /**
   * Data transfer out of AWS to the internet, first 10 TB a month: what a client's download costs,
   * and a Web Push request from the push worker (Lambda bills its transfer at EC2 rates).
   */
  dataTransferOutGb: {
    usd: 0.09,
    per: 'GB out to the internet (first 10 TB per month, after 100 GB free across services)',
    quantity: 1,
    source:
      'https://aws.amazon.com/s3/pricing/ (Data Transfer); https://aws.amazon.com/ec2/pricing/on-demand/',
    read: READ,
    note: 'Uploads into S3 are free; API Gateway message prices already include their transfer.',
  },
  /** SQS standard queue requests (SendMessage, ReceiveMessage, DeleteMessageBatch, …), first tier. */
  sqsRequests: {
    usd: 0.4,
    per: '1,000,000 requests (standard queue, first 100 billion requests per month), each 64 KB chunk of a payload one request',
    quantity: 1_000_000,
    source: 'https://aws.amazon.com/sqs/pricing/ (Standard queue requests)',
    read: READ_PUSH,
    note:
      'Each push job is one SendMessage; Lambda’s event source receives up to 10 jobs per ReceiveMessage and ' +
      'deletes them with one DeleteMessageBatch (both billed). Its idle long polls are a fixed monthly cost, not per send.',
  },
  /** SNS API requests: a Publish to an APNs or FCM platform endpoint is one. */
  snsRequests: {
    usd: 0.5,
    per: '1,000,000 requests (after the first million per month), each 64 KB chunk of a payload one request',
    quantity: 1_000_000,
    source: 'https://aws.amazon.com/sns/pricing/ (API requests)',
    read: READ_PUSH,
  },
  /** SNS deliveries to mobile push services (APNs, FCM), beside the Publish request. */
  snsMobilePushDeliveries: {
    usd: 0.5,
    per: '1,000,000 mobile push notifications (after the first million per month)',
    quantity: 1_000_000,
    source: 'https://aws.amazon.com/sns/pricing/ (Notification deliveries: mobile push notifications)',
    read: READ_PUSH,
    note: 'SNS bills the Publish request and the delivery apart: one APNs/FCM push through SNS is $1.00 per million.',
  },
  /** DynamoDB Standard storage. */
  dynamoStorageGbMonth: {
    usd: 0.25,
    per: 'GB-month (Standard table class, after the first 25 GB)',
    quantity: 1,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (Data storage)',
    read: READ,
  },
} as const satisfies Record<string, Price>;

export type PriceId = keyof typeof prices;

/** Dollars per single unit of a price (per message, per request, per GB-second, …). */
export function unitPrice(id: PriceId): number {
  const price: Price = prices[id];
  return price.usd / price.quantity;
}

/** API Gateway's metering step for WebSocket messages. */
export const MESSAGE_METERING_BYTES = 32 * 1024;

/** How many billed messages one frame of `bytes` is (at least one). */
export function meteredMessages(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / MESSAGE_METERING_BYTES));
}
