import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients, created once per process. Endpoints come from the SDK's own environment
 * variables (`AWS_ENDPOINT_URL_DYNAMODB`, …), which is how the local stack points the very
 * same code at DynamoDB Local.
 */
/**
 * How long one DynamoDB attempt may take to connect and to be answered: a request that hangs
 * (a dropped connection nobody noticed) is cut and retried by the SDK instead of waiting for the
 * function's timeout. DynamoDB answers in milliseconds; 4 s leaves room for a large transaction
 * on a busy DynamoDB Local.
 */
export const DYNAMODB_TIMEOUTS = {
  connectionTimeout: 1_000,
  requestTimeout: 4_000,
  throwOnRequestTimeout: true,
} as const;

export const dynamoClient = new DynamoDBClient({ requestHandler: DYNAMODB_TIMEOUTS });

export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

const managementClients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * How long one Management API attempt may take to connect and to be answered. Without
 * `throwOnRequestTimeout` the SDK only logs a request past `requestTimeout` and keeps waiting.
 */
export const MANAGEMENT_API_TIMEOUTS = {
  connectionTimeout: 1_000,
  requestTimeout: 2_000,
  throwOnRequestTimeout: true,
} as const;

/**
 * Sockets for one fan-out: a group message posts to every online member's device at once, and the
 * SDK's default of 50 sockets made the rest wait in line for a socket while the push deadline ran
 * (the bench lost 14 % of events at 1,000 members on a loaded machine).
 */
const MANAGEMENT_API_SOCKETS = { keepAlive: true, maxSockets: 1_000 };

/**
 * The Management API client of `endpoint` (`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`),
 * built once per process and endpoint and reused.
 */
export function managementApiClient(endpoint: string): ApiGatewayManagementApiClient {
  let client = managementClients.get(endpoint);
  if (client === undefined) {
    // One retry at most: a push that keeps failing is left for getUnread rather than delaying the reply.
    client = new ApiGatewayManagementApiClient({
      endpoint,
      maxAttempts: 2,
      requestHandler: {
        ...MANAGEMENT_API_TIMEOUTS,
        httpAgent: MANAGEMENT_API_SOCKETS,
        httpsAgent: MANAGEMENT_API_SOCKETS,
      },
    });
    managementClients.set(endpoint, client);
  }
  return client;
}
