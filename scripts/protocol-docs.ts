/**
 * `npm run docs:protocol`: writes the protocol as data, generated from the protocol module:
 *
 * - docs/asyncapi.yaml (AsyncAPI 3.0): the WebSocket API. Each action is a `send` operation
 *   with its frame (`data` from the action's zod schema in protocol/index.ts) and, unless it is
 *   one-way, its reply (`data` from `ServerReplies`); each event a `receive` operation (`data`
 *   from `ServerEvents`); the error codes from lambdas/shared/errors.ts.
 * - docs/openapi.yaml (OpenAPI 3.1): `/auth/*`, bodies from the zod schemas of protocol/http.ts,
 *   answers from its `HttpReplies` and `httpSuccessStatus`.
 *
 * The zod schemas become JSON Schema through `z.toJSONSchema`; the reply and event types, which
 * are TypeScript interfaces, through the TypeScript checker (typeSchemas below).
 * test/integration/protocol-docs.test.ts fails when the committed files differ from a fresh run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { stringify } from 'yaml';
import * as z from 'zod';
import { httpRoutes } from '../lambdas/routes.ts';
import { httpSchemas, httpSuccessStatus } from '../protocol/http.ts';
import { clientSchemas, ONE_WAY_ACTIONS } from '../protocol/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const files = {
  protocol: join(root, 'protocol', 'index.ts'),
  http: join(root, 'protocol', 'http.ts'),
  errors: join(root, 'lambdas', 'shared', 'errors.ts'),
};

type Schema = Record<string, unknown>;

/** JSON Schema of TypeScript types, with the protocol's named types as shared components. */
class TypeSchemas {
  readonly checker: ts.TypeChecker;
  /** Components by name, filled as types are met. */
  readonly components = new Map<string, Schema>();
  private readonly named = new Map<string, ts.Symbol>();

  constructor(
    readonly program: ts.Program,
    modules: readonly string[],
    private readonly refPrefix: string,
  ) {
    this.checker = program.getTypeChecker();
    for (const file of modules) {
      for (const symbol of this.exportsOf(file)) {
        if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))
          this.named.set(symbol.name, symbol);
      }
    }
  }

  exportsOf(file: string): ts.Symbol[] {
    const source = this.program.getSourceFile(file);
    const moduleSymbol = source && this.checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`Cannot read ${file}`);
    return this.checker
      .getExportsOfModule(moduleSymbol)
      .map((s) => (s.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(s) : s));
  }

  /** The type an exported interface or alias of `file` names. */
  declared(file: string, name: string): ts.Type {
    const symbol = this.exportsOf(file).find((s) => s.name === name);
    if (symbol === undefined) throw new Error(`${file} exports no ${name}`);
    return this.checker.getDeclaredTypeOfSymbol(symbol);
  }

  /** Each property of an object type, with its type. */
  properties(type: ts.Type): [string, ts.Type][] {
    return this.checker.getPropertiesOfType(type).map((p) => [p.name, this.checker.getTypeOfSymbol(p)]);
  }

  schema(type: ts.Type): Schema {
    const name = this.nameOf(type);
    if (name !== undefined) {
      if (!this.components.has(name)) {
        this.components.set(name, {}); // placeholder: recursion ends here
        const declared = this.checker.getDeclaredTypeOfSymbol(this.named.get(name) as ts.Symbol);
        const docs = ts.displayPartsToString(
          (this.named.get(name) as ts.Symbol).getDocumentationComment(this.checker),
        );
        this.components.set(name, { ...(docs ? { description: docs } : {}), ...this.inline(declared) });
      }
      return { $ref: `${this.refPrefix}${name}` };
    }
    return this.inline(type);
  }

  private nameOf(type: ts.Type): string | undefined {
    const alias = type.aliasSymbol;
    if (alias && !type.aliasTypeArguments && this.named.get(alias.name) === alias) {
      return this.isUsefulAlias(type) ? alias.name : undefined;
    }
    const symbol = type.getSymbol();
    if (
      symbol &&
      symbol.flags & ts.SymbolFlags.Interface &&
      this.named.get(symbol.name) === symbol &&
      this.checker.getTypeArguments(type as ts.TypeReference).length === 0
    ) {
      return symbol.name;
    }
    return undefined;
  }

  /** Aliases of object types and unions are worth a component; aliases of a string are not. */
  private isUsefulAlias(type: ts.Type): boolean {
    return (type.flags & ts.TypeFlags.Object) !== 0 || type.isUnion();
  }

  private inline(type: ts.Type): Schema {
    const { checker } = this;
    if (type.flags & ts.TypeFlags.String) return { type: 'string' };
    if (type.flags & ts.TypeFlags.Number) return { type: 'number' };
    if (type.flags & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (type.flags & ts.TypeFlags.Null) return { type: 'null' };
    if (type.isStringLiteral() || type.isNumberLiteral()) return { const: type.value };
    if (type.flags & ts.TypeFlags.BooleanLiteral) return { const: checker.typeToString(type) === 'true' };
    if (type.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return {};
    if (type.isUnion()) {
      const members = type.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined));
      if (members.length === 1) return this.schema(members[0] as ts.Type);
      if (members.every((t) => t.isStringLiteral())) {
        // Sorted: the checker's order of union members depends on what it met first.
        return { type: 'string', enum: members.map((t) => (t as ts.StringLiteralType).value).sort() };
      }
      const booleans = members.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
      const rest = members.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral));
      const anyOf = [
        ...rest.map((t) => this.schema(t)),
        ...(booleans.length === 2 ? [{ type: 'boolean' }] : []),
      ];
      if (booleans.length === 1) anyOf.push(this.schema(booleans[0] as ts.Type));
      return { anyOf };
    }
    if (type.isIntersection()) return { allOf: type.types.map((t) => this.schema(t)) };
    if (checker.isArrayType(type)) {
      return {
        type: 'array',
        items: this.schema(checker.getTypeArguments(type as ts.TypeReference)[0] as ts.Type),
      };
    }
    if (type.flags & ts.TypeFlags.Object) {
      const properties: Record<string, Schema> = {};
      const required: string[] = [];
      for (const property of checker.getPropertiesOfType(type)) {
        const docs = ts.displayPartsToString(property.getDocumentationComment(checker));
        properties[property.name] = {
          ...this.schema(checker.getTypeOfSymbol(property)),
          ...(docs ? { description: docs } : {}),
        };
        if (!(property.flags & ts.SymbolFlags.Optional)) required.push(property.name);
      }
      const schema: Schema = { type: 'object' };
      if (Object.keys(properties).length > 0) schema.properties = properties;
      if (required.length > 0) schema.required = required;
      const [index] = checker.getIndexInfosOfType(type);
      if (index !== undefined) {
        schema.additionalProperties = index.type.flags & ts.TypeFlags.Never ? false : this.schema(index.type);
      }
      return schema;
    }
    throw new Error(`No JSON Schema for the type ${checker.typeToString(type)}`);
  }
}

/** JSON Schema of a zod schema, as a client must send it. */
function zodSchema(schema: unknown, target: 'draft-7' | 'draft-2020-12'): Schema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema as z.ZodType, {
    target,
    io: 'input',
    unrepresentable: 'any',
  });
  return rest as Schema;
}

const packageVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
  .version;

function program(): ts.Program {
  return ts.createProgram(Object.values(files), {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    types: ['node'],
  });
}

/** The error codes of the protocol, from the `ErrorCode` union. */
function errorCodes(types: TypeSchemas): string[] {
  const type = types.declared(files.errors, 'ErrorCode');
  if (!type.isUnion()) throw new Error('ErrorCode is not a union');
  return type.types.map((t) => (t as ts.StringLiteralType).value);
}

const sorted = <T>(record: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

export function asyncApiDocument(prog: ts.Program = program()): Schema {
  const types = new TypeSchemas(prog, [files.protocol], '#/components/schemas/');
  const codes = errorCodes(types);
  const replies = new Map(types.properties(types.declared(files.protocol, 'ServerReplies')));
  const events = types.properties(types.declared(files.protocol, 'ServerEvents'));
  const oneWay = new Set<string>(ONE_WAY_ACTIONS);
  const channel = { $ref: '#/channels/parley' };
  const messages: Record<string, Schema> = {};
  const channelMessages: Record<string, Schema> = {};
  const operations: Record<string, Schema> = {};
  const message = (key: string, value: Schema) => {
    messages[key] = value;
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
    return { $ref: `#/channels/parley/messages/${key}` };
  };

  for (const action of Object.keys(clientSchemas).sort()) {
    const schema = clientSchemas[action as keyof typeof clientSchemas];
    const request = message(`${action}.request`, {
      name: action,
      title: `${action} request`,
      payload: {
        type: 'object',
        properties: {
          action: { const: action },
          requestId: { type: 'string', maxLength: 128, description: 'Echoed in the reply.' },
          data: zodSchema(schema, 'draft-7'),
        },
        required: ['action'],
      },
    });
    const operation: Schema = { action: 'send', channel, title: action, messages: [request] };
    if (oneWay.has(action)) {
      operation.description = 'One-way: the server sends no reply.';
    } else {
      const data = replies.get(action);
      if (data === undefined) throw new Error(`ServerReplies has no ${action}`);
      const reply = message(`${action}.reply`, {
        name: `${action}Reply`,
        title: `${action} reply`,
        payload: {
          oneOf: [
            {
              type: 'object',
              properties: {
                type: { const: 'reply' },
                action: { const: action },
                requestId: { type: 'string' },
                ok: { const: true },
                data: types.schema(data),
              },
              required: ['type', 'action', 'ok', 'data'],
            },
            { $ref: '#/components/schemas/ErrorReply' },
          ],
        },
      });
      operation.reply = { channel, messages: [reply] };
    }
    operations[action] = operation;
  }
  for (const [event, data] of events) {
    const pushed = message(`${event}.event`, {
      name: event,
      title: `${event} event`,
      payload: {
        type: 'object',
        properties: { type: { const: 'event' }, event: { const: event }, data: types.schema(data) },
        required: ['type', 'event', 'data'],
      },
    });
    operations[`on${event[0]?.toUpperCase()}${event.slice(1)}`] = {
      action: 'receive',
      channel,
      title: event,
      messages: [pushed],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Parley WebSocket API',
      version: packageVersion,
      description:
        'Generated from protocol/index.ts by `npm run docs:protocol`; docs/protocol.md explains it. ' +
        'Every client frame is `{action, requestId?, data}` and gets exactly one reply on the same ' +
        'connection, except one-way actions; events are pushed. Connect with `?token=<access token>`.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:3001', protocol: 'ws', description: 'The local stack (`npm start`).' },
      aws: {
        host: '{apiId}.execute-api.{region}.amazonaws.com',
        pathname: '/{stage}',
        protocol: 'wss',
        description: 'A deployment: the stack output `WebSocketUrl`.',
        variables: { apiId: {}, region: { default: 'us-east-1' }, stage: { default: 'prod' } },
      },
    },
    channels: {
      parley: {
        address: '/',
        title: 'The WebSocket connection',
        description:
          'Closed by API Gateway after 10 minutes without client frames and after 2 hours in any case.',
        messages: sorted(channelMessages),
        bindings: {
          ws: {
            query: {
              type: 'object',
              properties: { token: { type: 'string', description: 'An access token (JWT).' } },
              required: ['token'],
            },
          },
        },
      },
    },
    operations,
    components: {
      messages: sorted(messages),
      schemas: sorted({
        ErrorCode: { type: 'string', enum: codes },
        ErrorReply: {
          type: 'object',
          properties: {
            type: { const: 'reply' },
            action: { type: 'string' },
            requestId: { type: 'string' },
            ok: { const: false },
            error: {
              type: 'object',
              properties: {
                code: { $ref: '#/components/schemas/ErrorCode' },
                message: { type: 'string' },
                retryAfterMs: {
                  type: 'integer',
                  description: 'With RATE_LIMITED and SERVICE_UNAVAILABLE: when to try again.',
                },
              },
              required: ['code', 'message'],
            },
          },
          required: ['type', 'action', 'ok', 'error'],
        },
        ...Object.fromEntries(types.components),
      }),
    },
  };
}

export function openApiDocument(prog: ts.Program = program()): Schema {
  const types = new TypeSchemas(prog, [files.http, files.protocol], '#/components/schemas/');
  const codes = errorCodes(types);
  const replies = new Map(types.properties(types.declared(files.http, 'HttpReplies')));
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const paths: Record<string, Schema> = {};
  for (const endpoint of Object.keys(httpSchemas) as (keyof typeof httpSchemas)[]) {
    const reply = replies.get(endpoint);
    if (reply === undefined) throw new Error(`HttpReplies has no ${endpoint}`);
    const route = httpRoutes.find((definition) => definition.endpoint === endpoint);
    if (route === undefined) throw new Error(`lambdas/routes.ts has no HTTP route for ${endpoint}`);
    const status = String(httpSuccessStatus[endpoint]);
    const bearer = endpoint === 'logout';
    paths[route.path] = {
      [route.method.toLowerCase()]: {
        operationId: endpoint,
        ...(bearer ? { security: [{ bearer: [] }] } : { security: [] }),
        // GET takes no body.
        ...(route.method === 'GET'
          ? {}
          : {
              requestBody: {
                required: true,
                content: {
                  'application/json': { schema: zodSchema(httpSchemas[endpoint], 'draft-2020-12') },
                },
              },
            }),
        responses: {
          [status]: {
            description: 'Done.',
            content: { 'application/json': { schema: types.schema(reply) } },
          },
          '400': error(
            'BAD_REQUEST: the body does not match the schema (the message says which field and why).',
          ),
          '401': error('UNAUTHORIZED: wrong credentials, or a spent or revoked token.'),
          '413': error('PAYLOAD_TOO_LARGE: a body over 16 KB.'),
          '429': {
            ...error('RATE_LIMITED: wait for `Retry-After` seconds.'),
            headers: { 'Retry-After': { schema: { type: 'integer' } } },
          },
          '500': error('INTERNAL.'),
          '503': {
            ...error('SERVICE_UNAVAILABLE: e-mail or a dependency failed; wait for `Retry-After` seconds.'),
            headers: { 'Retry-After': { schema: { type: 'integer' } } },
          },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley HTTP API',
      version: packageVersion,
      description:
        'Accounts: sign-up with an e-mailed code, login, refresh, logout; the Web Push key. Generated from protocol/http.ts by ' +
        '`npm run docs:protocol`; docs/protocol.md explains it. Answers carry `cache-control: no-store`.',
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'The local stack (`npm start`).' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: sorted({
        ErrorCode: { type: 'string', enum: codes },
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { $ref: '#/components/schemas/ErrorCode' }, message: { type: 'string' } },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
        ...Object.fromEntries(types.components),
      }),
    },
  };
}

const HEADER =
  '# Generated by `npm run docs:protocol` (scripts/protocol-docs.ts) from protocol/. Do not edit.\n';

/** The two documents as YAML, with the paths they are kept at. */
export function protocolDocuments(): { path: string; text: string }[] {
  const prog = program();
  const yaml = (document: Schema) =>
    HEADER + stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
  return [
    { path: join(root, 'docs', 'asyncapi.yaml'), text: yaml(asyncApiDocument(prog)) },
    { path: join(root, 'docs', 'openapi.yaml'), text: yaml(openApiDocument(prog)) },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { path, text } of protocolDocuments()) {
    writeFileSync(path, text);
    console.log(`wrote ${path.slice(root.length + 1)}`);
  }
}
