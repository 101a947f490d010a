import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface MediaBucketProps {
  /**
   * Browser origins that may PUT uploads and GET downloads with the presigned URLs (CORS).
   * @default - no CORS rule: only non-browser clients can use the URLs
   */
  readonly corsOrigins?: readonly string[];
  /**
   * What happens to the bucket (and the media in it) when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The days after which the bucket deletes an upload still tagged `pending=true` (never attached).
 * The adapter (lambdas/adapters/media-store.ts) tags each upload so and re-tags it when attached.
 */
export const UNATTACHED_UPLOAD_DAYS = 1;
/**
 * The days after which story media (`story/`) is deleted: a story lives 24 h from its posting,
 * and its upload is attached within a day of being made (else the rule above deletes it).
 */
export const STORY_MEDIA_DAYS = 2;

/**
 * The media bucket (docs/protocol.md, "Media"): private (public access blocked, objects owned by
 * the bucket owner, no ACLs), S3-managed encryption, TLS only, no versioning (a deleted upload is
 * gone), CORS for browser PUT and GET from the configured origins, and lifecycle rules that delete
 * what nobody attached and the media of expired stories. Functions get object actions on their
 * prefixes only (infra/constructs/route-function.ts).
 */
export class MediaBucket extends Construct {
  readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: MediaBucketProps = {}) {
    super(scope, id);
    const origins = props.corsOrigins ?? [];
    const bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      cors:
        origins.length === 0
          ? undefined
          : [
              {
                allowedOrigins: [...origins],
                allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
                allowedHeaders: ['content-type'],
                exposedHeaders: ['etag', 'content-length', 'content-type'],
                maxAge: 3600,
              },
            ],
      lifecycleRules: [
        {
          id: 'unattached-uploads',
          tagFilters: { pending: 'true' },
          expiration: Duration.days(UNATTACHED_UPLOAD_DAYS),
        },
        { id: 'story-media', prefix: 'story/', expiration: Duration.days(STORY_MEDIA_DAYS) },
        { id: 'incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Every media request is made with a URL that a route function presigned for one user after checking ' +
        'that they may see the media, and the function logs that decision; server access logs would add a ' +
        'second bucket and a log object per download without telling more. Enable CloudTrail S3 data events ' +
        'for an investigation.',
    });
    this.bucket = bucket;
  }
}
