/**
 * The local S3 of `npm start`: s3rver (pure JavaScript, from the npm registry) in this process,
 * with one bucket for media. s3rver does not check Signature Version 4, so a presigned URL's
 * conditions (its expiry, the Content-Type and Content-Length it was signed with) would go
 * unchecked; `verifyPresignedV4` checks them as S3 does before s3rver sees the request.
 * Requests signed in the Authorization header (the handlers' own SDK calls) pass as they are.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

/** The credentials the handlers sign with locally (the local stack's AWS_ACCESS_KEY_ID/SECRET). */
export interface LocalS3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface LocalS3Options {
  /** 0 picks a free port. */
  readonly port: number;
  readonly bucket: string;
  readonly credentials: LocalS3Credentials;
  /** Keeps the objects in `{persistDir}/s3`; without it they live in a temporary directory removed on close. */
  readonly persistDir?: string;
}

export interface LocalS3 {
  /** `http://127.0.0.1:{port}`, what AWS_ENDPOINT_URL_S3 holds. */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The parts of a Koa context the verifier reads and writes. */
interface RequestContext {
  method: string;
  /** The request target as sent: raw path and query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const temporary = options.persistDir === undefined;
  const directory =
    options.persistDir === undefined
      ? mkdtempSync(join(tmpdir(), 'parley-s3-'))
      : join(options.persistDir, 's3');
  mkdirSync(directory, { recursive: true });
  // s3rver knows one key pair of its own; the handlers sign with the local stack's.
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(
    options.credentials.accessKeyId,
    options.credentials.secretAccessKey,
  );
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  // Koa composes its middleware list when the server starts listening: this one runs first.
  const verifier = async (context: RequestContext, next: () => Promise<void>): Promise<void> => {
    const refusal = verifyPresignedV4(context, options.credentials, new Date());
    if (refusal === undefined) return next();
    context.status = 403;
    context.type = 'application/xml';
    context.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error>`;
  };
  (server as unknown as { middleware: unknown[] }).middleware.unshift(verifier);
  const address = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: async () => {
      await server.close();
      if (temporary) rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Why S3 would refuse a presigned request, or undefined when it is not presigned or checks out. */
export function verifyPresignedV4(
  request: Pick<RequestContext, 'method' | 'url' | 'headers'>,
  credentials: LocalS3Credentials,
  now: Date,
): { code: string; message: string } | undefined {
  const url = new URL(request.url, 'http://local');
  const query = url.searchParams;
  if (!query.has('X-Amz-Signature')) return undefined;
  const signature = query.get('X-Amz-Signature') ?? '';
  const amzDate = query.get('X-Amz-Date') ?? '';
  const expires = Number(query.get('X-Amz-Expires'));
  const credential = query.get('X-Amz-Credential') ?? '';
  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean);
  const [accessKeyId, ...scopeParts] = credential.split('/');
  const signedAt = Date.parse(
    amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  if (accessKeyId !== credentials.accessKeyId || scopeParts.length !== 4 || Number.isNaN(signedAt)) {
    return { code: 'AuthorizationQueryParametersError', message: 'The presigned URL is malformed.' };
  }
  if (!Number.isInteger(expires) || now.getTime() > signedAt + expires * 1000) {
    return { code: 'AccessDenied', message: 'Request has expired' };
  }
  const canonicalQuery = [...query.entries()]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const headerValue = (name: string): string => {
    const value = request.headers[name];
    return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ');
  };
  const canonicalRequest = [
    request.method.toUpperCase(),
    url.pathname,
    canonicalQuery,
    ...signedHeaders.map((name) => `${name}:${headerValue(name)}`),
    '',
    signedHeaders.join(';'),
    query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = scopeParts.join('/');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = Buffer.from(`AWS4${credentials.secretAccessKey}`);
  for (const part of scopeParts) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return {
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  return undefined;
}

/** SigV4's URI encoding: everything but unreserved characters, as %XX. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
