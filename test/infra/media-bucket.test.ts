/**
 * The media bucket and the grants of the media routes: private, encrypted, TLS only, lifecycle
 * rules for unattached uploads and story media, CORS from the configured origins, and each
 * function holding the object actions its code calls on its route's prefixes only.
 */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaBucket } from '../../infra/constructs/media-bucket.ts';
import { RouteFunction } from '../../infra/constructs/route-function.ts';
import { Storage } from '../../infra/constructs/storage.ts';
import { actionRoutes } from '../../lambdas/routes.ts';
import { actionsOf, NO_BUNDLING, resourcesOf, type Statement } from './template-support.ts';

describe('MediaBucket and the media routes', () => {
  let app: App;
  let stack: Stack;
  let template: Template;
  let bucketId: string;
  const roles: Record<string, string> = {};

  beforeAll(() => {
    app = new App({ context: NO_BUNDLING });
    stack = new Stack(app, 'Media', { env: { account: '123456789012', region: 'eu-west-1' } });
    const tables = new Storage(stack, 'Storage').tables;
    const media = new MediaBucket(stack, 'Media', { corsOrigins: ['https://app.example.com'] });
    // sendMessage also queues push jobs.
    const queue = new Queue(stack, 'PushJobs', {
      enforceSSL: true,
      deadLetterQueue: {
        queue: new Queue(stack, 'PushDeadLetters', { enforceSSL: true }),
        maxReceiveCount: 5,
      },
    });
    bucketId = stack.resolve((media.bucket.node.defaultChild as CfnElement).logicalId) as string;
    for (const action of [
      'createUpload',
      'getMedia',
      'sendMessage',
      'postStory',
      'getStoryPhoto',
      'updateProfile',
    ] as const) {
      const fn = new RouteFunction(stack, action, {
        definition: actionRoutes[action],
        tables,
        mediaBucket: media.bucket,
        managementApi: { apiId: 'abc123', stageName: 'prod' },
        push: { queue },
      });
      roles[action] = stack.resolve((fn.role.node.defaultChild as CfnElement).logicalId) as string;
    }
    template = Template.fromStack(stack);
  });

  it('is private, S3-encrypted, unversioned, and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      VersioningConfiguration: Match.absent(),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('deletes unattached uploads after a day and story media after two, and allows browser PUT and GET', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'unattached-uploads',
            Status: 'Enabled',
            TagFilters: [{ Key: 'pending', Value: 'true' }],
            ExpirationInDays: 1,
          }),
          Match.objectLike({ Id: 'story-media', Status: 'Enabled', Prefix: 'story/', ExpirationInDays: 2 }),
        ]),
      },
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedOrigins: ['https://app.example.com'],
            AllowedMethods: ['PUT', 'GET', 'HEAD'],
            AllowedHeaders: ['content-type'],
          }),
        ],
      },
    });
  });

  /** The S3 statements of a role: actions and the object ARNs (as `{prefix}/*`). */
  const s3GrantsOf = (roleId: string) => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
    return statements.map((statement) => ({
      actions: actionsOf(statement).sort(),
      prefixes: resourcesOf(statement).map((resource) => {
        const parts = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
        expect(parts[0]).toEqual({ 'Fn::GetAtt': [bucketId, 'Arn'] });
        return parts[1];
      }),
    }));
  };

  it('grants each function the object actions its code calls, on its prefixes only', () => {
    expect(s3GrantsOf(roles.createUpload as string)).toEqual([
      {
        actions: ['s3:PutObject', 's3:PutObjectTagging'],
        prefixes: ['/message/*', '/story/*', '/profile/*'],
      },
    ]);
    expect(s3GrantsOf(roles.getMedia as string)).toEqual([
      { actions: ['s3:GetObject'], prefixes: ['/message/*', '/story/*', '/profile/*'] },
    ]);
    // HeadObject and the ranged GetObject of the first bytes, and the re-tagging once attached.
    expect(s3GrantsOf(roles.sendMessage as string)).toEqual([
      { actions: ['s3:GetObject', 's3:PutObjectTagging'], prefixes: ['/message/*'] },
    ]);
    expect(s3GrantsOf(roles.postStory as string)).toEqual([
      { actions: ['s3:GetObject', 's3:PutObjectTagging'], prefixes: ['/story/*'] },
    ]);
    expect(s3GrantsOf(roles.updateProfile as string)).toEqual([
      { actions: ['s3:GetObject', 's3:PutObjectTagging'], prefixes: ['/profile/*'] },
    ]);
    // A media story's photo: a presigned GET only.
    expect(s3GrantsOf(roles.getStoryPhoto as string)).toEqual([
      { actions: ['s3:GetObject'], prefixes: ['/story/*'] },
    ]);
  });

  it('leaves nothing unacknowledged for cdk-nag AwsSolutions', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('fails synthesis for a media route without a bucket', () => {
    const other = new Stack(new App({ context: NO_BUNDLING }), 'NoBucket');
    const tables = new Storage(other, 'Storage').tables;
    expect(
      () => new RouteFunction(other, 'CreateUpload', { definition: actionRoutes.createUpload, tables }),
    ).toThrow(/create-upload uses media but no media bucket was given/);
  });
});
