/**
 * The `$connect` REQUEST authorizer (identity source: the `token` query string parameter).
 * A missing or invalid token answers 401 (by throwing "Unauthorized", as API Gateway
 * expects); a middleware's refusal answers 403 (a Deny policy). On success the user id
 * travels in the authorizer context to every later route of the connection.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DynamoAccountSnapshotReader } from '../adapters/account-snapshot.ts';
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { ManagementApiConnectionProbe } from '../adapters/pusher.ts';
import { JwtTokenService } from '../adapters/token-service.ts';
import { admitConnection } from '../domain/connection-middlewares.ts';
import { forgetGoneConnections } from '../domain/delivery.ts';
import type { AccountSnapshot, VerifiedToken } from '../domain/ports.ts';
import { logger } from '../shared/logger.ts';

const accounts = new DynamoAccountSnapshotReader();
const ghosts = { probe: new ManagementApiConnectionProbe(), targets: new DynamoDeliveryTargets() };
// The signing key is fetched once, during the init phase (adapters/token-service.ts).
const tokens = new JwtTokenService();

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string, userId?: string) {
  const result: APIGatewayAuthorizerResult = {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
  if (userId !== undefined) result.context = { userId };
  return result;
}

export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = event.queryStringParameters?.token;
  if (!token) throw new Error('Unauthorized');
  const now = new Date();
  let verified: VerifiedToken;
  try {
    verified = await tokens.verify(token, now);
  } catch (error) {
    logger.info('Token refused', { reason: (error as Error).message });
    throw new Error('Unauthorized');
  }
  let snapshot: Promise<AccountSnapshot> | undefined;
  const admitted = await admitConnection({
    userId: verified.userId,
    token: verified,
    sourceIp: event.requestContext?.identity?.sourceIp,
    headers: event.headers ?? {},
    now,
    snapshot: () => {
      snapshot ??= accounts.snapshot(verified.userId, now);
      return snapshot;
    },
    forgetGone: (connections) => forgetGoneConnections(ghosts, connections),
  });
  if (!admitted) {
    logger.info('Connection refused by a middleware', { userId: verified.userId });
    return policy(verified.userId, 'Deny', event.methodArn);
  }
  return policy(verified.userId, 'Allow', event.methodArn, verified.userId);
}
