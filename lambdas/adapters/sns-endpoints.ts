/**
 * APNs and FCM devices as SNS platform endpoints (docs/architecture.md, "Push notifications"):
 * one endpoint per device token in the deployment's platform application, its owner (a userId)
 * in the endpoint's CustomUserData. Registration follows AWS's advice for device tokens: create
 * (idempotent), then make sure the endpoint is enabled and carries the latest token.
 */
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  GetEndpointAttributesCommand,
  SetEndpointAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import type { PlatformEndpoints, SnsPlatform } from '../domain/push.ts';
import { isAwsError } from './dynamo.ts';
import { PLATFORM_APPLICATION_ENV, PUSH_SERVICES_OF, pushServiceOfApplication } from './sns-arns.ts';

/** SNS answers in well under a second; a hung request is cut and retried by the SDK. */
const sns = new SNSClient({
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
});

/** The platform application ARN of each configured platform. */
export type PlatformApplications = Partial<Record<SnsPlatform, string>>;

/**
 * The platform applications the environment names (`APNS_PLATFORM_APPLICATION_ARN`,
 * `FCM_PLATFORM_APPLICATION_ARN`); a platform without one is not configured.
 * @throws Error when a variable names something other than a platform application of its service
 */
export function platformApplicationsFromEnv(env: NodeJS.ProcessEnv = process.env): PlatformApplications {
  const applications: PlatformApplications = {};
  for (const platform of ['apns', 'fcm'] as const) {
    const name = PLATFORM_APPLICATION_ENV[platform];
    const arn = env[name];
    if (arn === undefined || arn === '') continue;
    const service = pushServiceOfApplication(arn);
    const expected: readonly string[] = PUSH_SERVICES_OF[platform];
    if (service === undefined || !expected.includes(service)) {
      throw new Error(
        `${name} must be the ARN of an SNS platform application of ${expected.join(' or ')}, not ${arn}`,
      );
    }
    applications[platform] = arn;
  }
  return applications;
}

/**
 * The ARN in CreatePlatformEndpoint's refusal when an endpoint for the token exists with other
 * attributes (here: another owner): "Invalid parameter: Token Reason: Endpoint arn:… already
 * exists with the same Token, but different attributes." AWS documents reusing it.
 */
function existingEndpointOf(error: unknown): string | undefined {
  if (!isAwsError(error, 'InvalidParameterException')) return undefined;
  return /Endpoint (arn:[^ ]+) already exists with the same [Tt]oken/.exec((error as Error).message)?.[1];
}

/** A registration whose endpoint keeps vanishing (deleted between our calls) gives up after this. */
const MAX_ATTEMPTS = 2;

export class SnsPlatformEndpoints implements PlatformEndpoints {
  constructor(
    private readonly client: SNSClient = sns,
    private readonly applications: PlatformApplications = platformApplicationsFromEnv(),
  ) {}

  supports(platform: SnsPlatform): boolean {
    return this.applications[platform] !== undefined;
  }

  async register(
    platform: SnsPlatform,
    token: string,
    userId: string,
  ): Promise<{ endpointArn: string; previousOwner?: string }> {
    const application = this.applications[platform];
    if (application === undefined) throw new Error(`No SNS platform application for ${platform}`);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const endpointArn = await this.create(application, token, userId);
      let attributes: Record<string, string>;
      try {
        const reply = await this.client.send(new GetEndpointAttributesCommand({ EndpointArn: endpointArn }));
        attributes = reply.Attributes ?? {};
      } catch (error) {
        // Deleted in between (the push worker deletes disabled endpoints): create it again.
        if (isAwsError(error, 'NotFoundException')) continue;
        throw error;
      }
      // An existing endpoint may be disabled (SNS disables one the push service refused, e.g.
      // after the app was reinstalled), hold an older token, or belong to another user.
      const owner = attributes.CustomUserData;
      if (attributes.Enabled !== 'true' || attributes.Token !== token || owner !== userId) {
        await this.client.send(
          new SetEndpointAttributesCommand({
            EndpointArn: endpointArn,
            Attributes: { Token: token, Enabled: 'true', CustomUserData: userId },
          }),
        );
      }
      return owner !== undefined && owner !== '' && owner !== userId
        ? { endpointArn, previousOwner: owner }
        : { endpointArn };
    }
    throw new Error('Could not register a device: its SNS endpoint kept disappearing');
  }

  async remove(endpointArn: string): Promise<void> {
    // DeleteEndpoint is idempotent: an endpoint that is gone already is no error.
    await this.client.send(new DeleteEndpointCommand({ EndpointArn: endpointArn }));
  }

  private async create(application: string, token: string, userId: string): Promise<string> {
    try {
      const { EndpointArn } = await this.client.send(
        new CreatePlatformEndpointCommand({
          PlatformApplicationArn: application,
          Token: token,
          CustomUserData: userId,
        }),
      );
      if (EndpointArn === undefined) throw new Error('CreatePlatformEndpoint answered no EndpointArn');
      return EndpointArn;
    } catch (error) {
      const existing = existingEndpointOf(error);
      if (existing === undefined) throw error;
      return existing;
    }
  }
}
