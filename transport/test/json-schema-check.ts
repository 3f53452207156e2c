/**
 * A JSON Schema checker for the keywords the API documents use (OpenAPI,
 * AsyncAPI), shared by the docs tests. Written here rather than taken from a
 * validator because the tests need two things validators do not give:
 * `number` accepts the ±Infinity that msgpack float64 carries (the engine
 * sends -Infinity floors), and `strict` refuses a key that no schema of the
 * object declares even where the document allows extra keys, so a field the
 * code sends but the document forgot is caught. A keyword it does not know is
 * an error, never silently accepted.
 */
import assert from 'node:assert/strict';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** Whether `v` is a JSON object (not an array, not null). */
export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples']);
const KEYWORDS = new Set([
  '$ref',
  'allOf',
  'oneOf',
  'anyOf',
  'const',
  'enum',
  'type',
  'required',
  'properties',
  'additionalProperties',
  'propertyNames',
  'items',
  'additionalItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
]);

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'null':
      return v === null;
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number'; // msgpack float64 carries the -Infinity of an absent rule's floor
    case 'integer':
      return Number.isInteger(v);
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isObject(v);
    default:
      throw new Error(`unknown type ${type}`);
  }
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** What {@link schemaChecker} returns: helpers bound to one document. */
export interface SchemaChecker {
  /** Follows a local `#/a/b` pointer. */
  pointer(ref: string): Json | undefined;
  /** A `{ $ref }` resolved (through chains of them), or the value itself. */
  deref(v: Json | undefined): Json | undefined;
  /** Property names a schema declares for an object, through `$ref` and `allOf`. */
  declared(schema: Json | undefined): Set<string>;
  /**
   * Problems of `value` against `schema`, each with its path; empty when it
   * validates. `strict` also refuses keys no schema of the object declares
   * (those of `allOf` siblings count).
   */
  check(schema: Json | undefined, value: unknown, strict?: boolean, path?: string, siblings?: ReadonlySet<string>): string[];
  /**
   * The schema with every `$ref` inlined and its annotations dropped
   * (descriptions, titles, examples, `x-` extensions; `required` sorted), to
   * compare what two schemas accept rather than how they are written.
   */
  normalize(v: Json | undefined): Json | undefined;
}

/** A checker bound to one document (its `$ref`s are local to it). */
export function schemaChecker(doc: JsonObject): SchemaChecker {
  const pointer = (ref: string): Json | undefined => {
    assert.ok(ref.startsWith('#/'), `${ref} is a local reference`);
    let at: Json | undefined = doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      at = isObject(at) ? at[key] : undefined;
    }
    return at;
  };
  const deref = (v: Json | undefined): Json | undefined => (isObject(v) && typeof v['$ref'] === 'string' ? deref(pointer(v['$ref'])) : v);

  const declared = (schema: Json | undefined): Set<string> => {
    const s = deref(schema);
    if (!isObject(s)) return new Set();
    const out = new Set(isObject(s['properties']) ? Object.keys(s['properties']) : []);
    if (Array.isArray(s['allOf'])) for (const sub of s['allOf']) for (const k of declared(sub)) out.add(k);
    return out;
  };

  const check = (
    schema: Json | undefined,
    value: unknown,
    strict = false,
    path = '$',
    siblings: ReadonlySet<string> = new Set(),
  ): string[] => {
    if (schema === true) return [];
    if (!isObject(schema)) throw new Error(`${path}: schema is not an object`);
    for (const k of Object.keys(schema))
      if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k) && !k.startsWith('x-'))
        throw new Error(`${path}: the checker does not know keyword "${k}"`);
    const errors: string[] = [];
    const s = schema;
    const own = new Set([...siblings, ...(isObject(s['properties']) ? Object.keys(s['properties']) : [])]);
    if (typeof s['$ref'] === 'string') {
      const target = pointer(s['$ref']);
      if (target === undefined) return [`${path}: dangling $ref ${s['$ref']}`];
      errors.push(...check(target, value, strict, path, siblings));
    }
    if (Array.isArray(s['allOf'])) {
      const all = new Set([...own, ...s['allOf'].flatMap((sub) => [...declared(sub)])]);
      for (const sub of s['allOf']) errors.push(...check(sub, value, strict, path, all));
    }
    if (Array.isArray(s['oneOf'])) {
      const fits = s['oneOf'].filter((sub) => check(sub, value, strict, path, own).length === 0).length;
      if (fits !== 1) errors.push(`${path}: fits ${fits} of the oneOf branches, not exactly one`);
    }
    if (Array.isArray(s['anyOf']) && !s['anyOf'].some((sub) => check(sub, value, strict, path, own).length === 0))
      errors.push(`${path}: fits no anyOf branch`);
    if ('const' in s && value !== s['const']) errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(s['const'])}`);
    if (Array.isArray(s['enum']) && !s['enum'].includes(value as Json))
      errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s['enum'])}`);
    if (s['type'] !== undefined) {
      const types = Array.isArray(s['type']) ? s['type'] : [s['type']];
      if (!types.some((t) => typeOk(String(t), value)))
        return [...errors, `${path}: ${JSON.stringify(value)} is not of type ${types.join('|')}`];
    }
    if (typeof value === 'string') {
      if (typeof s['minLength'] === 'number' && [...value].length < s['minLength']) errors.push(`${path}: shorter than ${s['minLength']}`);
      if (typeof s['maxLength'] === 'number' && [...value].length > s['maxLength']) errors.push(`${path}: longer than ${s['maxLength']}`);
      if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(value))
        errors.push(`${path}: "${value}" does not match ${s['pattern']}`);
    }
    if (typeof value === 'number') {
      if (typeof s['minimum'] === 'number' && !(value >= s['minimum'])) errors.push(`${path}: ${value} < ${s['minimum']}`);
      if (typeof s['maximum'] === 'number' && !(value <= s['maximum'])) errors.push(`${path}: ${value} > ${s['maximum']}`);
      if (typeof s['exclusiveMinimum'] === 'number' && !(value > s['exclusiveMinimum']))
        errors.push(`${path}: ${value} <= ${s['exclusiveMinimum']}`);
    }
    if (isObject(value)) {
      if (Array.isArray(s['required']))
        for (const k of s['required']) if (!(String(k) in value)) errors.push(`${path}: missing "${String(k)}"`);
      if (s['propertyNames'] !== undefined)
        for (const k of Object.keys(value)) errors.push(...check(s['propertyNames'], k, strict, `${path}[key ${k}]`));
      const props = isObject(s['properties']) ? s['properties'] : {};
      for (const [k, v] of Object.entries(value)) {
        if (k in props) errors.push(...check(props[k], v, strict, `${path}.${k}`));
        else if (s['additionalProperties'] === false) errors.push(`${path}: unexpected "${k}"`);
        else if (isObject(s['additionalProperties'])) errors.push(...check(s['additionalProperties'], v, strict, `${path}.${k}`));
        else if (strict && isObject(s['properties']) && !own.has(k)) errors.push(`${path}: "${k}" is not documented`);
      }
    }
    if (Array.isArray(value)) {
      if (typeof s['minItems'] === 'number' && value.length < s['minItems']) errors.push(`${path}: fewer than ${s['minItems']} items`);
      if (typeof s['maxItems'] === 'number' && value.length > s['maxItems']) errors.push(`${path}: more than ${s['maxItems']} items`);
      const items = s['items'];
      if (Array.isArray(items)) {
        // A tuple: one schema per position, and `additionalItems: false` refuses the rest.
        value.forEach((v, i) => {
          if (i < items.length) errors.push(...check(items[i], v, strict, `${path}[${i}]`));
          else if (s['additionalItems'] === false) errors.push(`${path}: unexpected item ${i}`);
        });
      } else if (items !== undefined) value.forEach((v, i) => errors.push(...check(items, v, strict, `${path}[${i}]`)));
    }
    return errors;
  };

  const normalize = (v: Json | undefined): Json | undefined => {
    if (Array.isArray(v)) return v.map((x) => normalize(x) as Json);
    if (!isObject(v)) return v;
    if (typeof v['$ref'] === 'string') return normalize(pointer(v['$ref']));
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'description' || k === 'title' || k === 'examples' || k === '$schema' || k.startsWith('x-')) continue;
      out[k] = k === 'required' && Array.isArray(x) ? sorted(x.map(String)) : (normalize(x) as Json);
    }
    return out;
  };

  return { pointer, deref, declared, check, normalize };
}
