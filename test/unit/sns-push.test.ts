/**
 * The SNS adapters at the edges the fakes cannot show: configuration, ARNs, and what the real SDK
 * sends and makes of SNS's error answers (a request handler in place of the network).
 */
import { Readable } from 'node:stream';
import { SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import {
  endpointArnsOf,
  pushServiceOfApplication,
  pushServiceOfEndpoint,
} from '../../lambdas/adapters/sns-arns.ts';
import { platformApplicationsFromEnv, SnsPlatformEndpoints } from '../../lambdas/adapters/sns-endpoints.ts';
import { SnsMobilePushSender, snsMessageOf } from '../../lambdas/adapters/sns-push-sender.ts';
import type { SnsPushTarget } from '../../lambdas/domain/push.ts';
import { APNS_APP, APNS_SANDBOX_APP, apnsToken, FakeSns, FCM_APP } from './fake-sns.ts';

const notification = { title: 'Ann', body: 'New message', data: { conversationId: 'a#b', messageId: 'm1' } };

describe('platform applications from the environment', () => {
  it('reads the APNs (or APNs sandbox) and FCM applications, each optional', () => {
    expect(platformApplicationsFromEnv({})).toEqual({});
    expect(
      platformApplicationsFromEnv({
        APNS_PLATFORM_APPLICATION_ARN: APNS_APP,
        FCM_PLATFORM_APPLICATION_ARN: '',
      }),
    ).toEqual({ apns: APNS_APP });
    expect(
      platformApplicationsFromEnv({
        APNS_PLATFORM_APPLICATION_ARN: APNS_SANDBOX_APP,
        FCM_PLATFORM_APPLICATION_ARN: FCM_APP,
      }),
    ).toEqual({ apns: APNS_SANDBOX_APP, fcm: FCM_APP });
    const endpoints = new SnsPlatformEndpoints(new FakeSns().client, { fcm: FCM_APP });
    expect([endpoints.supports('apns'), endpoints.supports('fcm')]).toEqual([false, true]);
  });

  it.each([
    ['APNS_PLATFORM_APPLICATION_ARN', FCM_APP],
    ['FCM_PLATFORM_APPLICATION_ARN', APNS_APP],
    ['FCM_PLATFORM_APPLICATION_ARN', 'arn:aws:sns:eu-west-1:123456789012:parley-topic'],
    ['APNS_PLATFORM_APPLICATION_ARN', `${APNS_APP.replace(':app/', ':endpoint/')}/1`],
  ])('fails at load when %s names %s', (name, arn) => {
    expect(() => platformApplicationsFromEnv({ [name]: arn })).toThrow(name);
  });
});

describe('SNS ARNs', () => {
  it('scopes grants to the endpoints of one platform application', () => {
    expect(endpointArnsOf(APNS_APP)).toBe('arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/*');
    expect(endpointArnsOf('arn:aws-cn:sns:cn-north-1:123456789012:app/GCM/p.x-1')).toBe(
      'arn:aws-cn:sns:cn-north-1:123456789012:endpoint/GCM/p.x-1/*',
    );
    expect(() => endpointArnsOf('arn:aws:sns:eu-west-1:123456789012:app/ADM/parley')).toThrow(
      /platform application/,
    );
  });

  it('tells the push service of an application or an endpoint, never one for the other', () => {
    expect(pushServiceOfApplication(APNS_SANDBOX_APP)).toBe('APNS_SANDBOX');
    expect(pushServiceOfApplication(`${FCM_APP.replace(':app/', ':endpoint/')}/1`)).toBeUndefined();
    expect(pushServiceOfEndpoint(`${FCM_APP.replace(':app/', ':endpoint/')}/0f7d5971-aa8b`)).toBe('GCM');
    expect(pushServiceOfEndpoint(FCM_APP)).toBeUndefined();
  });
});

describe('SnsPlatformEndpoints.register', () => {
  it('creates the endpoint again when it was deleted between the create and the check', async () => {
    const sns = new FakeSns();
    const endpoints = new SnsPlatformEndpoints(sns.client, { apns: APNS_APP });
    const first = await endpoints.register('apns', apnsToken(1), 'ann');
    // CreatePlatformEndpoint answers the existing ARN, which is deleted before GetEndpointAttributes.
    const send = sns.send.bind(sns);
    let deleted = false;
    sns.send = async (command) => {
      const reply = await send(command);
      if (!deleted && command.constructor.name === 'CreatePlatformEndpointCommand') {
        deleted = true;
        sns.endpoints.delete(first.endpointArn);
      }
      return reply;
    };
    const again = await endpoints.register('apns', apnsToken(1), 'ann');
    expect(again.endpointArn).not.toBe(first.endpointArn);
    expect(sns.endpoints.get(again.endpointArn)?.attributes).toEqual({
      Token: apnsToken(1),
      Enabled: 'true',
      CustomUserData: 'ann',
    });
  });
});

/** An SNSClient whose requests end here: each answered with `status` and `body`, each recorded. */
function clientAnswering(status: number, body: string) {
  const requests: URLSearchParams[] = [];
  const client = new SNSClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { body?: string }) => {
        requests.push(new URLSearchParams(request.body ?? ''));
        return {
          response: {
            statusCode: status,
            reason: '',
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([Buffer.from(body)]),
          },
        };
      },
    } as never,
  });
  return { client, requests };
}

const errorBody = (code: string, message: string) =>
  `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r1</RequestId></ErrorResponse>`;

describe('SnsMobilePushSender with the real SDK', () => {
  const target: SnsPushTarget = {
    pushId: 'p1',
    platform: 'apns',
    endpointArn: `${APNS_APP.replace(':app/', ':endpoint/')}/5e3e9847`,
    previews: false,
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  it('sends Publish to the endpoint with the JSON message and the time to live', async () => {
    const { client, requests } = clientAnswering(
      200,
      '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m</MessageId></PublishResult></PublishResponse>',
    );
    expect(await new SnsMobilePushSender(client).send(target, notification)).toBe('sent');
    const [request] = requests;
    expect(Object.fromEntries(request ?? [])).toEqual({
      Action: 'Publish',
      Version: '2010-03-31',
      TargetArn: target.endpointArn,
      MessageStructure: 'json',
      Message: snsMessageOf('APNS', notification),
      'MessageAttributes.entry.1.Name': 'AWS.SNS.MOBILE.APNS.TTL',
      'MessageAttributes.entry.1.Value.DataType': 'String',
      'MessageAttributes.entry.1.Value.StringValue': '86400',
    });
  });

  it.each([
    ['EndpointDisabled', 'Endpoint is disabled', 'gone'],
    [
      'InvalidParameter',
      'Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified',
      'gone',
    ],
    ['InvalidParameter', 'Invalid parameter: Message too long', 'failed'],
    ['Throttling', 'Rate exceeded', 'failed'],
    ['PlatformApplicationDisabled', 'Platform application is disabled', 'failed'],
  ])('answers %s (%s) as %s', async (code, message, outcome) => {
    const { client } = clientAnswering(400, errorBody(code, message));
    expect(await new SnsMobilePushSender(client).send(target, notification)).toBe(outcome);
  });

  it("reuses the endpoint named in CreatePlatformEndpoint's refusal", async () => {
    const existing = `${FCM_APP.replace(':app/', ':endpoint/')}/dc1e9e1d`;
    const { client, requests } = clientAnswering(
      400,
      errorBody(
        'InvalidParameter',
        `Invalid parameter: Token Reason: Endpoint ${existing} already exists with the same Token, but different attributes.`,
      ),
    );
    const endpoints = new SnsPlatformEndpoints(client, { fcm: FCM_APP });
    // The refusal gives the ARN; the next call (GetEndpointAttributes) is refused too, so registration fails there.
    await expect(endpoints.register('fcm', 'token', 'ann')).rejects.toThrow();
    expect(requests.map((r) => [r.get('Action'), r.get('EndpointArn')])).toEqual([
      ['CreatePlatformEndpoint', null],
      ['GetEndpointAttributes', existing],
    ]);
  });
});
