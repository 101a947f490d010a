/**
 * SNS mobile push in memory, with the rules the adapters rely on: CreatePlatformEndpoint is
 * idempotent for the same token and attributes and refuses other attributes with the existing
 * ARN in its message; DeleteEndpoint is idempotent; Publish to a disabled endpoint throws
 * EndpointDisabledException, to a deleted one InvalidParameterException. Every command is recorded.
 */
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  EndpointDisabledException,
  GetEndpointAttributesCommand,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
  SetEndpointAttributesCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';

export const APNS_APP = 'arn:aws:sns:eu-west-1:123456789012:app/APNS/parley';
export const APNS_SANDBOX_APP = 'arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/parley-dev';
export const FCM_APP = 'arn:aws:sns:eu-west-1:123456789012:app/GCM/parley';

/** An APNs device token (32 bytes, hex) and an FCM registration token of today's shape. */
export const apnsToken = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
export const fcmToken = (n: number) => `d${n}X4sYqQ3kE:APA91b${'Hk_9-x'.repeat(22)}${n}`;

interface Endpoint {
  application: string;
  attributes: Record<string, string>;
}

type Command = { readonly input: object };

export class FakeSns {
  readonly endpoints = new Map<string, Endpoint>();
  readonly commands: Array<{ name: string; input: Record<string, unknown> }> = [];
  /** Publish throws this (once per entry) before anything else. */
  readonly publishFailures: Error[] = [];
  private sequence = 0;

  /** The fake as the SDK client the adapters take. */
  get client(): SNSClient {
    return this as unknown as SNSClient;
  }

  sent(name: string): Array<Record<string, unknown>> {
    return this.commands.filter((c) => c.name === name).map((c) => c.input);
  }

  async send(command: Command): Promise<object> {
    const input = command.input as Record<string, string | Record<string, string> | undefined>;
    this.commands.push({ name: command.constructor.name.replace(/Command$/, ''), input });
    const metadata = { $metadata: {} };
    if (command instanceof CreatePlatformEndpointCommand) {
      const { PlatformApplicationArn: application = '', Token: token = '', CustomUserData } = command.input;
      const wanted = { Token: token, Enabled: 'true', ...(CustomUserData ? { CustomUserData } : {}) };
      for (const [arn, endpoint] of this.endpoints) {
        if (endpoint.application !== application || endpoint.attributes.Token !== token) continue;
        if ((endpoint.attributes.CustomUserData ?? '') === (CustomUserData ?? ''))
          return { EndpointArn: arn };
        throw new InvalidParameterException({
          ...metadata,
          message: `Invalid parameter: Token Reason: Endpoint ${arn} already exists with the same Token, but different attributes.`,
        });
      }
      this.sequence += 1;
      const arn = `${application.replace(':app/', ':endpoint/')}/${this.sequence}`;
      this.endpoints.set(arn, { application, attributes: wanted });
      return { EndpointArn: arn };
    }
    if (command instanceof GetEndpointAttributesCommand) {
      const endpoint = this.endpoints.get(command.input.EndpointArn as string);
      if (endpoint === undefined)
        throw new NotFoundException({ ...metadata, message: 'Endpoint does not exist' });
      return { Attributes: { ...endpoint.attributes } };
    }
    if (command instanceof SetEndpointAttributesCommand) {
      const endpoint = this.endpoints.get(command.input.EndpointArn as string);
      if (endpoint === undefined)
        throw new NotFoundException({ ...metadata, message: 'Endpoint does not exist' });
      Object.assign(endpoint.attributes, command.input.Attributes);
      return {};
    }
    if (command instanceof DeleteEndpointCommand) {
      this.endpoints.delete(command.input.EndpointArn as string);
      return {};
    }
    if (command instanceof PublishCommand) {
      const failure = this.publishFailures.shift();
      if (failure !== undefined) throw failure;
      const endpoint = this.endpoints.get(command.input.TargetArn as string);
      if (endpoint === undefined) {
        throw new InvalidParameterException({
          ...metadata,
          message: 'Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified',
        });
      }
      if (endpoint.attributes.Enabled !== 'true') {
        throw new EndpointDisabledException({ ...metadata, message: 'Endpoint is disabled' });
      }
      this.sequence += 1;
      return { MessageId: `message-${this.sequence}` };
    }
    throw new Error(`FakeSns does not know ${command.constructor.name}`);
  }

  /** What SNS does when the push service refuses the endpoint's token. */
  disable(endpointArn: string): void {
    const endpoint = this.endpoints.get(endpointArn);
    if (endpoint !== undefined) endpoint.attributes.Enabled = 'false';
  }

  /** The payload each Publish carried for its push service, parsed. */
  published(): Array<{ targetArn: string; service: string; payload: Record<string, unknown> }> {
    return this.sent('Publish').map((input) => {
      const [service, payload] =
        Object.entries(JSON.parse(input.Message as string) as Record<string, string>)[0] ?? [];
      return {
        targetArn: input.TargetArn as string,
        service: service as string,
        payload: JSON.parse(payload as string),
      };
    });
  }
}
