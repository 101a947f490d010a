/** The VAPID key pair's custom resource: generated once into the secret, answered to CloudFormation. */
import { createServer, type Server } from 'node:http';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { parseVapidKeys } from '../../lambdas/adapters/vapid-keys.ts';
import { handler } from '../../lambdas/handlers/vapid-keys.ts';

const secrets = mockClient(SecretsManagerClient);
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:PushVapidKeys-abc';

/** CloudFormation's side: the pre-signed response URL, recording each answer. */
let server: Server;
let responseUrl: string;
const answers: Array<{ contentType: string | undefined; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      answers.push({
        contentType: request.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  responseUrl = `http://127.0.0.1:${address.port}/response?X-Amz-Signature=x`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  secrets.reset();
  answers.length = 0;
});

function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:keys',
    ResponseURL: responseUrl,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Parley/1',
    RequestId: 'request-1',
    LogicalResourceId: 'PushVapidKeyPair',
    ResourceType: 'Custom::ParleyVapidKeys',
    ResourceProperties: { ServiceToken: 'x', SecretArn: SECRET_ARN },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  return {
    ...base,
    RequestType: requestType,
    PhysicalResourceId: `vapid-keys:${SECRET_ARN}`,
    OldResourceProperties: base.ResourceProperties,
  } as CloudFormationCustomResourceEvent;
}

describe('the VAPID key pair custom resource', () => {
  it('generates a P-256 key pair into a fresh secret once, and answers its public key', async () => {
    // A new Secret holds random text until the function writes the pair.
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'x'.repeat(32) });
    secrets.on(PutSecretValueCommand).resolves({});
    await handler(event('Create'));

    const puts = secrets.commandCalls(PutSecretValueCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.args[0].input.SecretId).toBe(SECRET_ARN);
    const stored = parseVapidKeys(puts[0]?.args[0].input.SecretString ?? '');
    expect(stored).toBeDefined();
    expect(answers).toHaveLength(1);
    expect(answers[0]?.contentType).toBe('');
    expect(answers[0]?.body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: `vapid-keys:${SECRET_ARN}`,
      StackId: event('Create').StackId,
      RequestId: 'request-1',
      LogicalResourceId: 'PushVapidKeyPair',
      Data: { PublicKey: stored?.publicKey },
    });
    // The pair signs: web-push accepts it as VAPID details.
    expect(() =>
      webPush.getVapidHeaders(
        'https://push.example.com',
        'mailto:ops@example.com',
        stored?.publicKey as string,
        stored?.privateKey as string,
        'aes128gcm',
      ),
    ).not.toThrow();
  });

  it('keeps the pair a secret already holds on update (subscriptions are bound to it)', async () => {
    const pair = webPush.generateVAPIDKeys();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(pair) });
    await handler(event('Update'));
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(answers[0]?.body).toMatchObject({ Status: 'SUCCESS', Data: { PublicKey: pair.publicKey } });
  });

  it('does nothing on delete, and answers FAILED with the reason when the secret cannot be read', async () => {
    await handler(event('Delete'));
    expect(secrets.calls()).toHaveLength(0);
    expect(answers[0]?.body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: `vapid-keys:${SECRET_ARN}`,
    });

    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    await handler(event('Create'));
    expect(answers[1]?.body).toMatchObject({ Status: 'FAILED' });
    expect(String(answers[1]?.body.Reason)).toContain('AccessDeniedException');
  });
});
