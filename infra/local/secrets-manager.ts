/**
 * A local stand-in for Secrets Manager's `GetSecretValue` (AWS JSON 1.1 protocol), enough for
 * lambdas/adapters/secrets.ts pointed at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
import { awsJsonError, type HttpRouter } from './http-server.ts';

export interface LocalSecret {
  /** `arn:aws:secretsmanager:{region}:{account}:secret:{name}` */
  readonly arn: string;
  readonly value: string;
}

const VERSION_ID = '00000000-0000-4000-8000-000000000001';
const JSON_11 = { 'content-type': 'application/x-amz-json-1.1' };

function nameOf(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

/** Serves `secrets` by ARN or by name. */
export function addLocalSecretsManager(router: HttpRouter, secrets: readonly LocalSecret[]): void {
  const createdDate = Math.floor(Date.now() / 1000);
  router.awsJsonOperation('secretsmanager.GetSecretValue', (request) => {
    const input = request.json() as { SecretId?: unknown };
    const secretId = input?.SecretId;
    if (typeof secretId !== 'string' || secretId === '') {
      throw awsJsonError(400, 'InvalidParameterException', 'SecretId is required');
    }
    const secret = secrets.find((s) => s.arn === secretId || nameOf(s.arn) === secretId);
    if (secret === undefined) {
      throw awsJsonError(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    return {
      status: 200,
      headers: JSON_11,
      body: {
        ARN: secret.arn,
        Name: nameOf(secret.arn),
        SecretString: secret.value,
        VersionId: VERSION_ID,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: createdDate,
      },
    };
  });
}
