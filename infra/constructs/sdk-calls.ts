import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** What a handler's code can ask AWS for, read off its source files without bundling. */
export interface SdkCalls {
  /** SDK command classes constructed in reachable code (`PutCommand`, …). */
  readonly commands: ReadonlySet<string>;
  /** Kinds of transaction items built in reachable code (`Put`, `Update`, `Delete`, `ConditionCheck`). */
  readonly transactItems: ReadonlySet<string>;
  /** Some reachable query names an `IndexName`. */
  readonly queriesIndex: boolean;
  /** The files scanned: the handler and every module it imports by relative path, transitively. */
  readonly files: readonly string[];
}

/** A named function, method or function-valued variable, and the code in it. */
interface Declaration {
  readonly name: string;
  readonly body: ts.Node;
}

/**
 * The SDK calls the handler at `entry` can make, found statically (no bundling, no execution):
 *
 * 1. the import graph: the handler and every module it imports by relative path (type-only
 *    imports excluded: they load nothing);
 * 2. reachability by name: code at module scope runs at load, and everything the handler file
 *    declares is reached (Lambda calls its `handler`); a named function, method or
 *    function-valued variable is reachable when reachable code mentions its name (called or
 *    passed on). Matching by name, not by type, over-approximates (two `save` methods both
 *    count) but never misses a call made through a port interface;
 * 3. in reachable code: `new XCommand(`, transaction items (`Put: {`, `Update: {`, …) and
 *    `IndexName:`.
 */
export function sdkCallsOf(entry: string): SdkCalls {
  const file = resolve(entry);
  let calls = callsByEntry.get(file);
  if (calls === undefined) {
    calls = scan(file);
    callsByEntry.set(file, calls);
  }
  return calls;
}

/** The scans of one process (one synth, one test file): the sources do not change meanwhile. */
const callsByEntry = new Map<string, SdkCalls>();
const parsedFiles = new Map<string, ts.SourceFile>();

function scan(entry: string): SdkCalls {
  const sources = importGraph(entry);
  const declarations: Declaration[] = [];
  const moduleScope: ts.Node[] = [];
  for (const source of sources) collectDeclarations(source, declarations, moduleScope);
  // Everything the handler file declares is a root: Lambda calls its `handler` export by name.
  const roots = declarations.filter((declaration) => declaration.body.getSourceFile() === sources[0]);

  const commands = new Set<string>();
  const transactItems = new Set<string>();
  let queriesIndex = false;
  const reachedNames = new Set<string>();
  const pending: ts.Node[] = [...moduleScope, ...roots.map((root) => root.body)];
  const visited = new Set<ts.Node>();
  while (pending.length > 0) {
    const code = pending.pop() as ts.Node;
    if (visited.has(code)) continue;
    visited.add(code);
    const visit = (node: ts.Node): void => {
      // Nested declarations and class members are reached by name; types and imports run nothing.
      if (node !== code && (declarationName(node) !== undefined || ts.isClassLike(node))) return;
      if (isTypeOnly(node)) return;
      if (
        ts.isNewExpression(node) &&
        ts.isIdentifier(node.expression) &&
        /Command$/.test(node.expression.text)
      ) {
        commands.add(node.expression.text);
      }
      if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
        const key = node.name.text;
        if (key === 'IndexName') queriesIndex = true;
        if (key in TRANSACT_ITEM_ACTIONS && ts.isObjectLiteralExpression(node.initializer))
          transactItems.add(key);
        // A key names nothing reachable (`{ getUnread: schema }`); its value may.
        visit(node.initializer);
        return;
      }
      if (ts.isIdentifier(node) && !reachedNames.has(node.text)) {
        reachedNames.add(node.text);
        for (const declaration of declarations) {
          if (declaration.name === node.text) pending.push(declaration.body);
        }
      }
      ts.forEachChild(node, visit);
    };
    ts.forEachChild(code, visit);
  }
  return { commands, transactItems, queriesIndex, files: sources.map((source) => source.fileName).sort() };
}

/** The handler and every module it imports by relative path, parsed. */
function importGraph(entry: string): ts.SourceFile[] {
  const parsed = new Map<string, ts.SourceFile>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (parsed.has(file)) continue;
    let source = parsedFiles.get(file);
    if (source === undefined) {
      source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      parsedFiles.set(file, source);
    }
    parsed.set(file, source);
    for (const statement of source.statements) {
      const specifier =
        ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly
          ? statement.moduleSpecifier
          : ts.isExportDeclaration(statement) && !statement.isTypeOnly
            ? statement.moduleSpecifier
            : undefined;
      if (specifier !== undefined && ts.isStringLiteral(specifier) && specifier.text.startsWith('.')) {
        pending.push(resolve(dirname(file), specifier.text));
      }
    }
  }
  return [...parsed.values()];
}

/** The name under which `node` can be reached, if it is a function, method or function-valued variable. */
function declarationName(node: ts.Node): string | undefined {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined) {
    return ts.isIdentifier(node.name) ? node.name.text : undefined;
  }
  if (
    ts.isVariableDeclaration(node) &&
    ts.isIdentifier(node.name) &&
    node.initializer !== undefined &&
    (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
  ) {
    return node.name.text;
  }
  return undefined;
}

/**
 * Splits a file into named declarations, wherever they are nested (reachable by name), and the
 * top-level code that runs at load. Class constructors and property initializers run on `new`,
 * so the class name reaches them.
 */
function collectDeclarations(
  source: ts.SourceFile,
  declarations: Declaration[],
  moduleScope: ts.Node[],
): void {
  const register = (node: ts.Node): void => {
    const name = declarationName(node);
    if (name !== undefined) declarations.push({ name, body: node });
    if (ts.isClassLike(node) && node.name !== undefined) {
      for (const member of node.members) {
        if (declarationName(member) === undefined) declarations.push({ name: node.name.text, body: member });
      }
    }
    ts.forEachChild(node, register);
  };
  register(source);
  const topLevel = (node: ts.Node): void => {
    if (declarationName(node) !== undefined || isTypeOnly(node)) return;
    if (ts.isClassDeclaration(node)) {
      if (node.name === undefined) moduleScope.push(node);
      return;
    }
    if (ts.isVariableStatement(node) || ts.isVariableDeclarationList(node)) {
      ts.forEachChild(node, topLevel);
      return;
    }
    moduleScope.push(node);
  };
  source.statements.forEach(topLevel);
}

/** Code that runs nothing: types, interfaces, imports and re-exports (their names are not calls). */
function isTypeOnly(node: ts.Node): boolean {
  return (
    ts.isTypeNode(node) ||
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isImportDeclaration(node) ||
    ts.isExportDeclaration(node)
  );
}

/** The IAM actions each SDK command needs (DynamoDB document-client and low-level names alike). */
export const COMMAND_ACTIONS: Readonly<Record<string, string | readonly string[]>> = {
  GetCommand: 'dynamodb:GetItem',
  GetItemCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchGetItemCommand: 'dynamodb:BatchGetItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  BatchWriteItemCommand: 'dynamodb:BatchWriteItem',
  PostToConnectionCommand: 'execute-api:ManageConnections',
  DeleteConnectionCommand: 'execute-api:ManageConnections',
  GetConnectionCommand: 'execute-api:ManageConnections',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  PutSecretValueCommand: 'secretsmanager:PutSecretValue',
  SendMessageCommand: 'sqs:SendMessage',
  // SNS mobile push (lambdas/adapters/sns-endpoints.ts, sns-push-sender.ts).
  CreatePlatformEndpointCommand: 'sns:CreatePlatformEndpoint',
  GetEndpointAttributesCommand: 'sns:GetEndpointAttributes',
  SetEndpointAttributesCommand: 'sns:SetEndpointAttributes',
  DeleteEndpointCommand: 'sns:DeleteEndpoint',
  PublishCommand: 'sns:Publish',
  SendEmailCommand: 'ses:SendEmail',
  SendRawEmailCommand: 'ses:SendRawEmail',
  // S3 authorizes a presigned request as the presigner: presigning a PutObject needs the grant
  // its upload will use, and a PUT that sets tags (media uploads) needs s3:PutObjectTagging too.
  PutObjectCommand: ['s3:PutObject', 's3:PutObjectTagging'],
  GetObjectCommand: 's3:GetObject',
  // HEAD is authorized as GET.
  HeadObjectCommand: 's3:GetObject',
  PutObjectTaggingCommand: 's3:PutObjectTagging',
};

/**
 * IAM has no TransactWriteItems action: DynamoDB authorizes each item of a transaction by the
 * action of its kind (AWS, "Using IAM with DynamoDB transactions").
 */
export const TRANSACT_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

const TRANSACT_COMMANDS = new Set(['TransactWriteCommand', 'TransactWriteItemsCommand']);

/**
 * The IAM actions `calls` need, sorted. A command without a known action fails synthesis, so a
 * new kind of call cannot go out ungranted, or granted by guess.
 */
export function iamActionsOf(calls: SdkCalls): string[] {
  const actions = new Set<string>();
  for (const command of calls.commands) {
    if (TRANSACT_COMMANDS.has(command)) {
      for (const kind of calls.transactItems) actions.add(TRANSACT_ITEM_ACTIONS[kind] as string);
      continue;
    }
    const action = COMMAND_ACTIONS[command];
    if (action === undefined) {
      throw new Error(`${command} has no IAM action in COMMAND_ACTIONS (infra/constructs/sdk-calls.ts)`);
    }
    for (const each of typeof action === 'string' ? [action] : action) actions.add(each);
  }
  return [...actions].sort();
}
