/**
 * The deployment's VAPID key pair (RFC 8292), kept as JSON `{publicKey, privateKey}` (base64url,
 * as `web-push` writes them) in one Secrets Manager secret.
 */
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import webPush from 'web-push';
import { readSecretString, secretsManager } from './secrets.ts';

export interface VapidKeyPair {
  readonly publicKey: string;
  readonly privateKey: string;
}

/** The pair a secret's text holds, or undefined when it holds none (a fresh secret's random text). */
export function parseVapidKeys(text: string): VapidKeyPair | undefined {
  try {
    const value = JSON.parse(text) as Partial<VapidKeyPair> | null;
    const publicKey = value?.publicKey;
    const privateKey = value?.privateKey;
    // An uncompressed P-256 point (65 bytes) and a P-256 scalar (32 bytes).
    if (
      typeof publicKey === 'string' &&
      typeof privateKey === 'string' &&
      Buffer.from(publicKey, 'base64url').length === 65 &&
      Buffer.from(privateKey, 'base64url').length === 32
    ) {
      return { publicKey, privateKey };
    }
  } catch {
    // Not JSON: no pair yet.
  }
  return undefined;
}

/**
 * The pair the secret holds; when it holds none yet, a new pair is generated and stored. Keys are
 * never replaced: every browser subscription is bound to the public key it was made with.
 */
export async function ensureVapidKeys(
  secretId: string,
  client: SecretsManagerClient = secretsManager,
): Promise<VapidKeyPair> {
  const existing = parseVapidKeys(await readSecretString(secretId, client));
  if (existing !== undefined) return existing;
  const { publicKey, privateKey } = webPush.generateVAPIDKeys();
  await client.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: JSON.stringify({ publicKey, privateKey }),
    }),
  );
  return { publicKey, privateKey };
}
