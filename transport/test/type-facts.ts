/**
 * The shapes of TypeScript types, read through the TypeScript compiler's
 * syntax tree (types have no runtime value to compare a document with). The
 * tree does not depend on layout, so reformatting a file changes nothing read
 * here; a type renamed or moved fails loudly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** One field of an object type: optional when marked `?` or typed `| undefined` (the engine omits those). */
export interface TypeField {
  readonly name: string;
  readonly optional: boolean;
}

/** An object type of a union or intersection: its fields, and the string literal each literal-typed field is. */
export interface TypeMember {
  readonly fields: readonly TypeField[];
  readonly literals: ReadonlyMap<string, string>;
}

/** Reads the top-level types of the project's files (paths from the repository root). */
export class TypeFacts {
  readonly #files = new Map<string, ts.SourceFile>();

  /** Fields of `interface <name>` or `type <name> = { ... }`. */
  fields(path: string, name: string): { all: string[]; required: string[] } {
    const members = this.members(path, name);
    assert.equal(members.length, 1, `${name} is one object type`);
    const fields = members[0]!.fields;
    assert.ok(fields.length > 0, `${name} has fields`);
    return {
      all: fields.map((f) => f.name).sort(),
      required: fields
        .filter((f) => !f.optional)
        .map((f) => f.name)
        .sort(),
    };
  }

  /** The string literals of `type <name> = 'a' | 'b' ...`, in order. */
  literals(path: string, name: string): string[] {
    const out: string[] = [];
    const walk = (t: ts.TypeNode): void => {
      if (ts.isUnionTypeNode(t)) t.types.forEach(walk);
      else if (ts.isParenthesizedTypeNode(t)) walk(t.type);
      else if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) out.push(t.literal.text);
      else assert.fail(`${name} is a union of string literals`);
    };
    walk(this.#alias(path, name));
    return out;
  }

  /** The object types a type is made of, through its unions, intersections and parentheses (named types it refers to are not followed). */
  members(path: string, name: string): TypeMember[] {
    const decl = this.#declaration(path, name);
    if (ts.isInterfaceDeclaration(decl)) return [member(decl.members)];
    const out: TypeMember[] = [];
    const walk = (t: ts.TypeNode): void => {
      if (ts.isUnionTypeNode(t) || ts.isIntersectionTypeNode(t)) t.types.forEach(walk);
      else if (ts.isParenthesizedTypeNode(t)) walk(t.type);
      else if (ts.isTypeLiteralNode(t)) out.push(member(t.members));
    };
    walk(decl.type);
    return out;
  }

  #alias(path: string, name: string): ts.TypeNode {
    const decl = this.#declaration(path, name);
    assert.ok(ts.isTypeAliasDeclaration(decl), `${name} is a type alias`);
    return decl.type;
  }

  #declaration(path: string, name: string): ts.InterfaceDeclaration | ts.TypeAliasDeclaration {
    let file = this.#files.get(path);
    if (file === undefined) {
      const text = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
      this.#files.set(path, (file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)));
    }
    const decl = file.statements.find(
      (s): s is ts.InterfaceDeclaration | ts.TypeAliasDeclaration =>
        (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === name,
    );
    assert.ok(decl, `type ${name} is declared in ${path}`);
    return decl;
  }
}

function member(elements: ts.NodeArray<ts.TypeElement>): TypeMember {
  const fields: TypeField[] = [];
  const literals = new Map<string, string>();
  for (const e of elements) {
    if (!ts.isPropertySignature(e) || !(ts.isIdentifier(e.name) || ts.isStringLiteral(e.name))) continue;
    const t = e.type;
    const undefinedToo = t !== undefined && ts.isUnionTypeNode(t) && t.types.some((x) => x.kind === ts.SyntaxKind.UndefinedKeyword);
    fields.push({ name: e.name.text, optional: e.questionToken !== undefined || undefinedToo });
    if (t !== undefined && ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) literals.set(e.name.text, t.literal.text);
  }
  return { fields, literals };
}
