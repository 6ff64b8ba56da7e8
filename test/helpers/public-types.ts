/**
 * Which types a package's public declarations use without exporting them: walks every export of
 * the entries' declaration files (the public members of exported classes included, private ones
 * not), resolves each type it names, and reports those declared in the package (under `root`) that
 * no entry exports — following them too, since their own members are public as well.
 */
import { resolve, sep } from 'node:path';
import ts from 'typescript';

/** A type the public API uses but the entry does not export, and one place that uses it. */
export interface UnexportedType {
  name: string;
  usedBy: string;
}

function isPrivate(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
}

/** The names each of `entries` exports (its declaration file's exports). */
export function exportedNames(entries: string[]): string[][] {
  const program = ts.createProgram(entries, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: ['node'] });
  const checker = program.getTypeChecker();
  return entries.map((entry) => {
    const source = program.getSourceFile(entry);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${entry}: not a module`);
    return checker.getExportsOfModule(moduleSymbol).map((s) => s.name);
  });
}

export function unexportedPublicTypes(entries: string[], root: string): UnexportedType[] {
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const resolveAlias = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exported = new Set<ts.Symbol>();
  for (const entry of entries) {
    const source = program.getSourceFile(entry);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${entry}: not a module`);
    for (const s of checker.getExportsOfModule(moduleSymbol)) exported.add(resolveAlias(s));
  }
  const inPackage = (s: ts.Symbol) => (s.declarations ?? []).some((d) => resolve(d.getSourceFile().fileName).startsWith(resolve(root) + sep));

  const missing = new Map<ts.Symbol, string>();
  const visited = new Set<ts.Symbol>();
  const queue: Array<[ts.Symbol, string]> = [...exported].map((s) => [s, s.name]);

  const referenced = (node: ts.Node): ts.Symbol | undefined => {
    if (ts.isTypeReferenceNode(node)) return checker.getSymbolAtLocation(node.typeName);
    if (ts.isExpressionWithTypeArguments(node)) return checker.getSymbolAtLocation(node.expression);
    if (ts.isImportTypeNode(node) && node.qualifier) return checker.getSymbolAtLocation(node.qualifier);
    if (ts.isTypeQueryNode(node)) return checker.getSymbolAtLocation(node.exprName);
    return undefined;
  };

  while (queue.length > 0) {
    const [symbol, path] = queue.shift() as [ts.Symbol, string];
    if (visited.has(symbol)) continue;
    visited.add(symbol);
    for (const declaration of symbol.declarations ?? []) {
      const walk = (node: ts.Node): void => {
        if (node !== declaration && isPrivate(node)) return;
        const found = referenced(node);
        if (found) {
          const target = resolveAlias(found);
          if (inPackage(target) && !(target.flags & ts.SymbolFlags.TypeParameter)) {
            // A generic type alias is a type computation (a mapped helper): users name its results.
            const helper = (target.declarations ?? []).some((d) => ts.isTypeAliasDeclaration(d) && (d.typeParameters?.length ?? 0) > 0);
            if (!helper && !exported.has(target) && !missing.has(target)) missing.set(target, path);
            queue.push([target, `${path} → ${target.name}`]);
          }
        }
        ts.forEachChild(node, walk);
      };
      walk(declaration);
    }
  }
  return [...missing].map(([s, usedBy]) => ({ name: s.name, usedBy })).sort((a, b) => a.name.localeCompare(b.name));
}
