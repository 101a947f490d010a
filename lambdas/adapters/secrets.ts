import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const secretsManager = new SecretsManagerClient({});

/**
 * Reads a secret string once. Callers keep the returned promise at module scope, so the
 * secret is fetched during the Lambda init phase and never per invocation.
 */
export async function readSecretString(
  secretId: string,
  client: SecretsManagerClient = secretsManager,
): Promise<string> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (SecretString === undefined || SecretString === '') {
    throw new Error(`Secret ${secretId} has no string value`);
  }
  return SecretString;
}
