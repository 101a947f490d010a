import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's `AwsSolutions-IAM5` finding for one wildcard resource ARN on `scope`
 * (a role or policy, or a construct above it). cdk-nag 3 matches findings exactly, and names a
 * resource the way it flattens the resolved ARN (`<LogicalId>`, `<LogicalId.Attr>`,
 * `<AWS::Region>`), so the finding id is derived from the ARN itself rather than spelled out.
 */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  const flattened = flattenCfnReference(Stack.of(scope).resolve(arn));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
}

/** The flattening cdk-nag applies to a resolved CloudFormation value before naming a finding. */
export function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    const join = record['Fn::Join'];
    if (Array.isArray(join)) {
      const [delimiter, items] = join as [string, unknown[]];
      return items.map(flattenCfnReference).join(delimiter);
    }
    if (record['Fn::Sub'] !== undefined) return flattenCfnReference(record['Fn::Sub']);
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      return `<${flattenCfnReference(getAtt[0])}.${flattenCfnReference(getAtt[1])}>`;
    }
    if (record['Fn::ImportValue'] !== undefined) return flattenCfnReference(record['Fn::ImportValue']);
    if (record.Ref !== undefined) return `<${flattenCfnReference(record.Ref)}>`;
  }
  return JSON.stringify(node);
}
