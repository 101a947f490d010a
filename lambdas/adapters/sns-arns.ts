/**
 * SNS platform application and endpoint ARNs (no SDK here: the CDK stack imports this module to
 * scope grants). An application is `arn:aws:sns:{region}:{account}:app/{APNS|APNS_SANDBOX|GCM}/{name}`,
 * its endpoints `…:endpoint/{platform}/{name}/{id}`.
 */

/** SNS's names of the push services Parley uses (FCM is `GCM` to SNS). */
export type SnsPushService = 'APNS' | 'APNS_SANDBOX' | 'GCM';

/** The variables that name the platform applications (CDK context `apnsPlatformApplicationArn`, `fcmPlatformApplicationArn`). */
export const PLATFORM_APPLICATION_ENV = {
  apns: 'APNS_PLATFORM_APPLICATION_ARN',
  fcm: 'FCM_PLATFORM_APPLICATION_ARN',
} as const;

/** The push services each registerPush platform may name. */
export const PUSH_SERVICES_OF = {
  apns: ['APNS', 'APNS_SANDBOX'],
  fcm: ['GCM'],
} as const satisfies Record<keyof typeof PLATFORM_APPLICATION_ENV, readonly SnsPushService[]>;

const SNS_ARN =
  /^arn:(aws[a-z-]*):sns:([a-z0-9-]+):(\d{12}):(app|endpoint)\/(APNS|APNS_SANDBOX|GCM)\/([A-Za-z0-9_.-]{1,256})(\/[^/]+)?$/;

interface ParsedArn {
  readonly kind: 'app' | 'endpoint';
  readonly service: SnsPushService;
  /** `arn:{partition}:sns:{region}:{account}:` */
  readonly prefix: string;
  readonly name: string;
}

function parse(arn: string): ParsedArn | undefined {
  const match = SNS_ARN.exec(arn);
  if (match === null) return undefined;
  const [, partition, region, account, kind, service, name, id] = match;
  if ((kind === 'app') !== (id === undefined)) return undefined;
  return {
    kind: kind as ParsedArn['kind'],
    service: service as SnsPushService,
    prefix: `arn:${partition}:sns:${region}:${account}:`,
    name: name as string,
  };
}

/** The push service of a platform application ARN; undefined when it is none of APNS, APNS_SANDBOX, GCM. */
export function pushServiceOfApplication(applicationArn: string): SnsPushService | undefined {
  const parsed = parse(applicationArn);
  return parsed?.kind === 'app' ? parsed.service : undefined;
}

/** The push service of an endpoint ARN: the key its Publish message goes under. */
export function pushServiceOfEndpoint(endpointArn: string): SnsPushService | undefined {
  const parsed = parse(endpointArn);
  return parsed?.kind === 'endpoint' ? parsed.service : undefined;
}

/**
 * The ARN pattern of every endpoint of a platform application, for IAM:
 * `arn:aws:sns:eu-west-1:123456789012:app/APNS/parley` → `…:endpoint/APNS/parley/*`.
 * @throws Error when `applicationArn` is no APNS, APNS_SANDBOX or GCM platform application
 */
export function endpointArnsOf(applicationArn: string): string {
  const parsed = parse(applicationArn);
  if (parsed?.kind !== 'app') {
    throw new Error(
      `${applicationArn} is not the ARN of an SNS platform application (APNS, APNS_SANDBOX or GCM)`,
    );
  }
  return `${parsed.prefix}endpoint/${parsed.service}/${parsed.name}/*`;
}
