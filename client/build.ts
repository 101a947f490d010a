/**
 * Builds the @parley/client package into client/dist (`npm run build` in client/, run by
 * `npm pack` through `prepack`):
 *
 * - index.js: ESM for Node, which opens sockets with `ws` (the package's one dependency);
 * - browser.js: ESM for browsers and bundlers (the `browser` export condition), which use the
 *   global WebSocket and import nothing;
 * - *.d.ts: the client's declarations, and protocol.d.ts, the protocol's types written out as
 *   plain TypeScript from protocol/index.ts (the server's zod schemas stay behind: a project
 *   that installs the package type-checks without zod).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import ts from 'typescript';

const clientDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(clientDir, '..');
const dist = join(clientDir, 'dist');
const protocolEntry = join(root, 'protocol', 'index.ts');

/** Browsers never take the Node path; `ws` becomes an empty module there. */
const noWs: Plugin = {
  name: 'no-ws',
  setup(context) {
    context.onResolve({ filter: /^ws$/ }, () => ({ path: 'ws', namespace: 'no-ws' }));
    context.onLoad({ filter: /.*/, namespace: 'no-ws' }, () => ({
      contents: 'export const WebSocket = undefined;',
    }));
  },
};

async function bundle(): Promise<void> {
  const common: BuildOptions = {
    entryPoints: [join(clientDir, 'index.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning',
  };
  await build({ ...common, platform: 'node', external: ['ws'], outfile: join(dist, 'index.js') });
  await build({ ...common, platform: 'browser', plugins: [noWs], outfile: join(dist, 'browser.js') });
}

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  strict: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
  declaration: true,
  emitDeclarationOnly: true,
  rootDir: root,
  outDir: join(dist, '.types'),
};

/** `./connection.ts` → `./connection.js` in import and export specifiers. */
const withJsSpecifiers = (text: string) =>
  text.replace(/((?:from\s+|import\()['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');

const PRINT_FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.InTypeAlias;

/** Writes the protocol's exported types as plain declarations, expanding those zod infers. */
function protocolDeclarations(program: ts.Program): string {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(protocolEntry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`Cannot read ${protocolEntry}`);
  const exported = checker.getExportsOfModule(moduleSymbol);
  const exportedTypeNames = new Set(
    exported
      .map((symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol))
      .filter((symbol) => symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))
      .map((symbol) => symbol.name),
  );

  const print = (type: ts.Type, optional = false): string => {
    const alias = type.aliasSymbol;
    if (alias !== undefined && exportedTypeNames.has(alias.name) && !type.aliasTypeArguments)
      return alias.name;
    if (type.flags & ts.TypeFlags.Boolean) return 'boolean';
    if (type.isUnion()) {
      // An optional property's type without the `undefined` that optionality adds.
      const members = optional ? type.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined)) : type.types;
      if (members.length === 1) return print(members[0] as ts.Type);
      const parts = members.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral));
      const booleans = parts.length < members.length ? ['boolean'] : [];
      return [...parts.map((t) => wrap(t)), ...booleans].join(' | ');
    }
    if (type.isIntersection()) return type.types.map((t) => wrap(t)).join(' & ');
    if (!(type.flags & ts.TypeFlags.Object)) return checker.typeToString(type, undefined, PRINT_FLAGS);
    const symbol = type.getSymbol();
    if (
      symbol !== undefined &&
      exportedTypeNames.has(symbol.name) &&
      symbol.flags & ts.SymbolFlags.Interface
    ) {
      const args = checker.getTypeArguments(type as ts.TypeReference);
      return args.length > 0 ? `${symbol.name}<${args.map((t) => print(t)).join(', ')}>` : symbol.name;
    }
    if (checker.isArrayType(type))
      return `${wrap(checker.getTypeArguments(type as ts.TypeReference)[0] as ts.Type)}[]`;
    if (checker.isTupleType(type)) {
      return `[${checker
        .getTypeArguments(type as ts.TypeReference)
        .map((t) => print(t))
        .join(', ')}]`;
    }
    const members = checker.getPropertiesOfType(type).map((property) => {
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      const propertyType = checker.getTypeOfSymbol(property);
      const docs = ts.displayPartsToString(property.getDocumentationComment(checker));
      const doc = docs ? `/** ${docs.replace(/\*\//g, '* /')} */ ` : '';
      const name = /^[A-Za-z_$][\w$]*$/.test(property.name) ? property.name : JSON.stringify(property.name);
      return `${doc}${name}${optional ? '?' : ''}: ${print(propertyType, optional)};`;
    });
    for (const info of checker.getIndexInfosOfType(type)) {
      members.push(`[key: ${checker.typeToString(info.keyType)}]: ${print(info.type)};`);
    }
    return members.length === 0 ? '{}' : `{ ${members.join(' ')} }`;
  };
  const wrap = (type: ts.Type): string => {
    const text = print(type);
    return (type.isUnion() || type.isIntersection()) && !(type.flags & ts.TypeFlags.Boolean)
      ? `(${text})`
      : text;
  };

  const out: string[] = [
    "// The Parley protocol's types, generated from protocol/index.ts by client/build.ts. Do not edit.",
    '',
  ];
  for (const exportedSymbol of exported) {
    const symbol =
      exportedSymbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exportedSymbol) : exportedSymbol;
    const declaration = symbol.declarations?.[0];
    if (declaration === undefined) continue;
    const file = declaration.getSourceFile();
    const leading = ts.getLeadingCommentRanges(file.text, declaration.getFullStart()) ?? [];
    const jsDoc = leading
      .filter((range) => file.text.startsWith('/**', range.pos))
      .map((range) => file.text.slice(range.pos, range.end))
      .join('\n');
    const withDoc = (text: string) => (jsDoc ? `${jsDoc}\n${text}` : text);
    if (ts.isInterfaceDeclaration(declaration)) {
      out.push(withDoc(declaration.getText().replace(/^(export\s+)?/, 'export ')), '');
    } else if (ts.isTypeAliasDeclaration(declaration)) {
      const text = declaration.getText();
      if (!/\btypeof\b|\bz\./.test(text)) {
        out.push(withDoc(text.replace(/^(export\s+)?/, 'export ')), '');
        continue;
      }
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      const body = type.flags & ts.TypeFlags.Object && !type.isUnion() ? printObject(type) : print(type);
      out.push(withDoc(`export type ${symbol.name} = ${body};`), '');
    }
  }
  /** A named object type (not its alias): each property written out. */
  function printObject(type: ts.Type): string {
    const members = checker
      .getPropertiesOfType(type)
      .map((property) => `  ${property.name}: ${print(checker.getTypeOfSymbol(property))};`);
    return members.length === 0 ? print(type) : `{\n${members.join('\n')}\n}`;
  }
  const text = out.join('\n');
  if (/\bzod\b|\bZod|\$Infer|\bcore\./.test(text)) {
    throw new Error('protocol.d.ts would still mention zod: a type in protocol/index.ts needs expanding');
  }
  return text;
}

async function declarations(): Promise<void> {
  const program = ts.createProgram([join(clientDir, 'index.ts')], compilerOptions);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    throw new Error(
      ts.formatDiagnosticsWithColorAndContext(diagnostics, ts.sys as unknown as ts.FormatDiagnosticsHost),
    );
  }
  const files = new Map<string, string>();
  program.emit(undefined, (fileName, text) => files.set(fileName, text));
  const typesDir = join(dist, '.types', 'client');
  for (const [fileName, text] of files) {
    const path = relative(typesDir, fileName);
    if (path.startsWith('..') || path === 'protocol.d.ts' || path === 'build.d.ts') continue;
    await writeFile(join(dist, path), withJsSpecifiers(text));
  }
  await writeFile(join(dist, 'protocol.d.ts'), protocolDeclarations(program));
}

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await bundle();
await declarations();
console.log(`@parley/client built into ${relative(process.cwd(), dist) || '.'}`);
