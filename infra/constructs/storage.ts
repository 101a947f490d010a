import { RemovalPolicy } from 'aws-cdk-lib';
import {
  type Attribute,
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  tableList as allTables,
  type KeyAttribute,
  type TableDefinition,
  type TableId,
} from '../../lambdas/tables.ts';

export interface StorageProps {
  /**
   * The table definitions to create.
   * @default every entry of `tableList` in lambdas/tables.ts
   */
  readonly tableList?: readonly TableDefinition[];
  /**
   * What happens to the tables (and their data) when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * One DynamoDB table per entry of lambdas/tables.ts: its keys, its global indexes (projection
 * ALL) and its TTL attribute; on-demand billing, point-in-time recovery, encryption with the
 * AWS managed key, retained on stack deletion.
 */
export class Storage extends Construct {
  /** The tables, by the id the route table uses in its permissions. */
  readonly tables: Readonly<Record<TableId, ITable>>;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const created: Partial<Record<TableId, ITable>> = {};
    for (const definition of props.tableList ?? allTables) {
      created[definition.id] = this.createTable(definition, props.removalPolicy ?? RemovalPolicy.RETAIN);
    }
    this.tables = created as Record<TableId, ITable>;
  }

  private createTable(definition: TableDefinition, removalPolicy: RemovalPolicy): Table {
    const table = new Table(this, tableConstructId(definition.id), {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey === undefined ? undefined : attribute(definition.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: definition.ttlAttribute,
      removalPolicy,
    });
    for (const index of definition.globalIndexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey === undefined ? undefined : attribute(index.sortKey),
        ...(index.include === undefined
          ? { projectionType: ProjectionType.ALL }
          : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }),
      });
    }
    return table;
  }
}

/** `messages` → `MessagesTable`. */
function tableConstructId(id: TableId): string {
  return `${id.charAt(0).toUpperCase()}${id.slice(1)}Table`;
}

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}
