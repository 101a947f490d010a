/**
 * The local S3's check of presigned URLs (infra/local/s3.ts), against URLs the AWS SDK's own
 * presigner makes: S3 refuses another method, type, size or key, an expired URL, and another
 * key's signature; requests signed in the Authorization header are not its business.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyPresignedV4 } from '../../infra/local/s3.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local-secret' };
const signedAt = new Date('2026-11-27T12:00:00Z');

describe('verifyPresignedV4', () => {
  let url: URL;
  const request = (overrides: { method?: string; url?: string; headers?: Record<string, string> } = {}) => ({
    method: overrides.method ?? 'PUT',
    url: overrides.url ?? `${url.pathname}${url.search}`,
    headers: overrides.headers ?? { host: url.host, 'content-type': 'image/png', 'content-length': '1234' },
  });

  beforeAll(async () => {
    const client = new S3Client({
      endpoint: 'http://127.0.0.1:4569',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    url = new URL(
      await getSignedUrl(
        client,
        new PutObjectCommand({
          Bucket: 'media',
          Key: 'message/01ARZ3NDEKTSV4RRFFQ69G5FAV',
          ContentType: 'image/png',
          ContentLength: 1234,
          Tagging: 'pending=true',
        }),
        {
          expiresIn: 900,
          signingDate: signedAt,
          signableHeaders: new Set(['content-type', 'content-length']),
        },
      ),
    );
  });

  it('accepts the request the URL was signed for, until it expires', () => {
    expect(verifyPresignedV4(request(), credentials, new Date(signedAt.getTime() + 899_000))).toBeUndefined();
    expect(verifyPresignedV4(request(), credentials, new Date(signedAt.getTime() + 901_000))).toMatchObject({
      code: 'AccessDenied',
    });
  });

  it('refuses another type, size, method or key, and another secret', () => {
    const later = new Date(signedAt.getTime() + 1000);
    const refusals = [
      request({ headers: { host: url.host, 'content-type': 'text/html', 'content-length': '1234' } }),
      request({ headers: { host: url.host, 'content-type': 'image/png', 'content-length': '1235' } }),
      request({ method: 'GET' }),
      request({ url: `${url.pathname.replace('FAV', 'FAW')}${url.search}` }),
      request({ url: `${url.pathname}${url.search.replace('pending%3Dtrue', 'pending%3Dfalse')}` }),
    ];
    for (const refused of refusals) {
      expect(verifyPresignedV4(refused, credentials, later)).toMatchObject({ code: 'SignatureDoesNotMatch' });
    }
    expect(verifyPresignedV4(request(), { ...credentials, secretAccessKey: 'another' }, later)).toMatchObject(
      { code: 'SignatureDoesNotMatch' },
    );
  });

  it('leaves requests without a presigned signature to the emulator', () => {
    expect(
      verifyPresignedV4(
        { method: 'HEAD', url: '/media/message/x', headers: { authorization: 'AWS4-HMAC-SHA256 …' } },
        credentials,
        signedAt,
      ),
    ).toBeUndefined();
  });
});
