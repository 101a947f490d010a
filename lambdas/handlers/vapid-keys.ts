/**
 * The VAPID key pair's custom resource (infra/constructs/push.ts), a Lambda-backed custom
 * resource: on create and update it makes sure the secret holds a key pair (generating one the
 * first time) and answers the public key as the attribute `PublicKey`; on delete it does nothing
 * (the secret is CloudFormation's). CloudFormation waits for the answer at the pre-signed
 * `ResponseURL` (AWS CloudFormation User Guide, "Custom resources": response objects).
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ensureVapidKeys } from '../adapters/vapid-keys.ts';
import { logger } from '../shared/logger.ts';

interface Outcome {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

async function outcomeOf(event: CloudFormationCustomResourceEvent): Promise<Outcome> {
  const secretArn = event.ResourceProperties.SecretArn;
  const physicalResourceId = `vapid-keys:${String(secretArn)}`;
  if (event.RequestType === 'Delete') {
    return { Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId };
  }
  try {
    if (typeof secretArn !== 'string' || secretArn === '') throw new Error('SecretArn is required');
    const { publicKey } = await ensureVapidKeys(secretArn);
    return { Status: 'SUCCESS', PhysicalResourceId: physicalResourceId, Data: { PublicKey: publicKey } };
  } catch (error) {
    logger.error('Could not make sure the VAPID key pair exists', { error: error as Error });
    return {
      Status: 'FAILED',
      Reason: `VAPID key pair: ${(error as Error).message}`,
      PhysicalResourceId: event.RequestType === 'Update' ? event.PhysicalResourceId : physicalResourceId,
    };
  }
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<void> {
  const outcome = await outcomeOf(event);
  // The pre-signed URL was signed without a content type: send none.
  const response = await fetch(event.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '' },
    body: JSON.stringify({
      ...outcome,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    }),
  });
  if (!response.ok) throw new Error(`CloudFormation did not take the answer: HTTP ${response.status}`);
}
