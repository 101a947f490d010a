import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** What the stack reads from CDK context besides the sender, CORS and the CloudWatch role flag. */
export interface Settings {
  readonly stageName: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /** Set as `JWT_SECRET_GENERATION` on the functions that read the JWT secret; change it after a rotation. */
  readonly jwtSecretGeneration?: string;
  /** Default route throttling of the WebSocket stage, per route, across all clients. */
  readonly webSocketThrottle: Required<ThrottleSettings>;
  /** Default route throttling of the HTTP API (`/auth/*`) stage, per route, across all clients. */
  readonly httpThrottle: Required<ThrottleSettings>;
  /** Reserved concurrency of the `$connect` authorizer; 0 means no reservation. */
  readonly authorizerConcurrency: number;
  /** Reserved concurrency of each `/auth/*` function; 0 means no reservation. */
  readonly authRouteConcurrency: number;
  /** Retention of every log group of the stack. */
  readonly logRetention: RetentionDays;
}

/**
 * Context keys and their defaults (docs/operations.md, "Context keys"). The defaults are sized for
 * production in an account with Lambda's default quota of 1,000 concurrent executions: the
 * reservations (100 + 5 × 25 = 225) leave 775 for the WebSocket routes.
 */
export const CONTEXT_DEFAULTS = {
  stageName: 'prod',
  jwtIssuer: 'parley',
  jwtAudience: 'parley-clients',
  webSocketThrottleRate: 1000,
  webSocketThrottleBurst: 500,
  httpThrottleRate: 50,
  httpThrottleBurst: 25,
  authorizerConcurrency: 100,
  authRouteConcurrency: 25,
  logRetentionDays: 90,
} as const;

type ContextKey = keyof typeof CONTEXT_DEFAULTS;

/** The settings of `scope`'s context, validated: a bad value fails synthesis with its key. */
export function readSettings(scope: Construct): Settings {
  const text = (key: ContextKey & ('stageName' | 'jwtIssuer' | 'jwtAudience')): string => {
    const value = scope.node.tryGetContext(key) as unknown;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : CONTEXT_DEFAULTS[key];
  };
  const count = (key: ContextKey, options: { min: number; allowNone?: boolean }): number => {
    const value = scope.node.tryGetContext(key) as unknown;
    if (value === undefined || value === '') return CONTEXT_DEFAULTS[key] as number;
    if (options.allowNone === true && (value === 'none' || value === false || value === 'false')) return 0;
    const parsed = typeof value === 'number' ? value : Number(value);
    if (!Number.isInteger(parsed) || parsed < options.min) {
      throw new Error(
        `Context ${key} must be an integer of at least ${options.min}${options.allowNone === true ? ', or "none"' : ''}, got "${String(value)}"`,
      );
    }
    return parsed;
  };
  const stageName = text('stageName');
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    throw new Error(`Context stageName may hold letters, digits, "-" and "_" only, got "${stageName}"`);
  }
  return {
    stageName,
    jwtIssuer: text('jwtIssuer'),
    jwtAudience: text('jwtAudience'),
    jwtSecretGeneration: optionalText(scope, 'jwtSecretGeneration'),
    webSocketThrottle: {
      rateLimit: count('webSocketThrottleRate', { min: 1 }),
      burstLimit: count('webSocketThrottleBurst', { min: 1 }),
    },
    httpThrottle: {
      rateLimit: count('httpThrottleRate', { min: 1 }),
      burstLimit: count('httpThrottleBurst', { min: 1 }),
    },
    authorizerConcurrency: count('authorizerConcurrency', { min: 0, allowNone: true }),
    authRouteConcurrency: count('authRouteConcurrency', { min: 0, allowNone: true }),
    logRetention: retention(count('logRetentionDays', { min: 1 })),
  };
}

/** A non-empty string context value, or undefined. */
function optionalText(scope: Construct, key: string): string | undefined {
  const value = scope.node.tryGetContext(key) as unknown;
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/** A number of days CloudWatch Logs accepts as a retention. */
function retention(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter(
    (value): value is RetentionDays => typeof value === 'number' && value !== RetentionDays.INFINITE,
  );
  if (!allowed.includes(days as RetentionDays)) {
    throw new Error(
      `Context logRetentionDays must be one of the values CloudWatch Logs accepts (${allowed.sort((a, b) => a - b).join(', ')}), got ${days}`,
    );
  }
  return days as RetentionDays;
}
