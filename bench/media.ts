/**
 * What a photo costs: a media message (createUpload, the PUT to S3, sendMessage with
 * `content.media`, one getMedia and download per recipient) beside an inline image, per message
 * and per million, at us-east-1 prices (bench/prices.ts), on top of the text send the bench
 * measures (bench/results/latest.md).
 *
 * The request counts are the code's, and test/integration/media.test.ts holds them against the
 * local stack: createUpload 1 PutItem; attaching 1 conditional UpdateItem, and S3 HeadObject,
 * a ranged GetObject and PutObjectTagging; getMedia 1 GetItem (a group: + 1 Query). Lambda
 * durations are assumptions (about a text send's, plus the S3 round trips), stated in the table.
 *
 *   npx tsx bench/media.ts            the table, as Markdown
 */
import { pathToFileURL } from 'node:url';
import { MAX_IMAGE_BYTES } from '../protocol/limits.ts';
import { meteredMessages, unitPrice } from './prices.ts';

const GB = 1024 ** 3;
const MILLION = 1_000_000;
/** Lambda memory of the media routes (lambdas/routes.ts: the default). */
const MEMORY_GB = 256 / 1024;
/** Assumed Lambda durations (ms): a DynamoDB round trip or an S3 one is about 5-15 ms in-region. */
const DURATION_MS = { createUpload: 15, attach: 40, getMedia: 15 } as const;

export interface CostLine {
  readonly what: string;
  /** Dollars per message. */
  readonly usd: number;
}

const lambda = (ms: number) =>
  unitPrice('lambdaRequests') + (ms / 1000) * MEMORY_GB * unitPrice('lambdaArmGbSecond');

/**
 * The extra cost of a message carrying a media upload of `bytes`, over the same message without
 * it, downloaded `downloads` times (once per recipient device that shows it; clients cache).
 */
export function mediaMessageCosts(bytes: number, downloads = 1): CostLine[] {
  return [
    {
      what: 'createUpload: frame in + reply, Lambda, 1 PutItem (1 WRU)',
      usd:
        2 * unitPrice('apiGatewayMessages') +
        lambda(DURATION_MS.createUpload) +
        unitPrice('dynamoWriteRequestUnits'),
    },
    { what: 'the PUT to S3 (1 PUT request; transfer in is free)', usd: unitPrice('s3PutRequests') },
    {
      what: 'attaching, in sendMessage: a conditional UpdateItem (1 WRU), HeadObject + ranged GetObject, PutObjectTagging, Lambda time',
      usd:
        unitPrice('dynamoWriteRequestUnits') +
        2 * unitPrice('s3GetRequests') +
        unitPrice('s3PutRequests') +
        (DURATION_MS.attach / 1000) * MEMORY_GB * unitPrice('lambdaArmGbSecond'),
    },
    {
      what: `getMedia × ${downloads}: frame in + reply, Lambda, 1 GetItem (1 RRU)`,
      usd:
        downloads *
        (2 * unitPrice('apiGatewayMessages') +
          lambda(DURATION_MS.getMedia) +
          unitPrice('dynamoReadRequestUnits')),
    },
    {
      what: `the download × ${downloads}: 1 GET request + transfer out`,
      usd: downloads * (unitPrice('s3GetRequests') + (bytes / GB) * unitPrice('dataTransferOutGb')),
    },
  ];
}

/** Storage a month, S3 Standard. */
export const mediaStorageMonth = (bytes: number) => (bytes / GB) * unitPrice('s3StorageGbMonth');

/**
 * The extra cost of an inline image of `bytes` (base64, as sent) over a text message: the
 * message item grows by it (1 WRU per KB; the unread index projects the item, so twice), the
 * frames stay within one 32 KB step each.
 */
export function inlineImageCosts(bytes: number, posts = 3): CostLine[] {
  const extraWru = 2 * Math.ceil(bytes / 1024);
  return [
    {
      what: `message write: +${extraWru} WRU (the item and its index copy, 1 per KB)`,
      usd: extraWru * unitPrice('dynamoWriteRequestUnits'),
    },
    {
      what: 'frames: in, reply and posts stay in one 32 KB step each',
      usd: (meteredMessages(bytes + 300) - 1) * (2 + posts) * unitPrice('apiGatewayMessages'),
    },
  ];
}

export const inlineStorageMonth = (bytes: number) => (bytes / GB) * unitPrice('dynamoStorageGbMonth');

const total = (lines: readonly CostLine[]) => lines.reduce((sum, line) => sum + line.usd, 0);
const perMillion = (usd: number) => `$${(usd * MILLION).toFixed(2)}`;

/** The Markdown section: the lines for a 200 KB photo, then the comparison by size. */
export function mediaReport(): string {
  const photo = 200 * 1024;
  const lines = mediaMessageCosts(photo);
  const rows = [
    '## Media messages: cost per 1,000,000, over the same message as text',
    '',
    `A 200 KB photo through S3, downloaded once; Lambda 256 MB arm64, durations assumed (${Object.entries(
      DURATION_MS,
    )
      .map(([k, v]) => `${k} ${v} ms`)
      .join(', ')}); request counts as test/integration/media.test.ts holds them.`,
    '',
    '| | per 1,000,000 |',
    '|---|---:|',
    ...lines.map((line) => `| ${line.what} | ${perMillion(line.usd)} |`),
    `| **total, one download** | **${perMillion(total(lines))}** |`,
    `| storage, per month kept | ${perMillion(mediaStorageMonth(photo))} |`,
    '',
    '| content | extra per 1,000,000 messages | of which transfer out | storage per month |',
    '|---|---:|---:|---:|',
    `| inline image, ${Math.round(MAX_IMAGE_BYTES / 1024)} KB (the most one frame takes) | ${perMillion(total(inlineImageCosts(MAX_IMAGE_BYTES)))} | – | ${perMillion(inlineStorageMonth(MAX_IMAGE_BYTES))} (DynamoDB) |`,
    ...[27 * 1024, 200 * 1024, 1024 * 1024, 5 * 1024 * 1024].map((bytes) => {
      const media = mediaMessageCosts(bytes);
      const transfer = (bytes / GB) * unitPrice('dataTransferOutGb');
      return `| media, ${bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MB` : `${bytes / 1024} KB`} | ${perMillion(total(media))} | ${perMillion(transfer)} | ${perMillion(mediaStorageMonth(bytes))} (S3) |`;
    }),
    '',
    'Each further download adds its getMedia and GET (about $2.8 per million) and its transfer out. ' +
      'A media message costs about $17 per million in requests whatever its size; past that, transfer ' +
      'out ($0.09 per GB) and storage ($0.023 per GB-month) grow with the bytes. The same 27 KB cost ' +
      'less through S3 than inline, where every KB is a DynamoDB write unit, and a stored KB costs ' +
      'DynamoDB 11 times what it costs S3.',
  ];
  return rows.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(mediaReport());
}
