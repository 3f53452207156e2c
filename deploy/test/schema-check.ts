/**
 * Offline schema check of rendered objects, two ways:
 *
 * - at run time, each object through its model's `validate()` (kubernetes-models
 *   and the CRD packages: required fields, types, enums, quantities, durations);
 * - at compile time, every object as an object literal of its model's type,
 *   compiled with TypeScript: excess-property checks reject any field the schema
 *   does not have, which `validate()` lets through.
 *
 * Kinds without a published model (RayService, ObjectStore) are typed by
 * crd-types.ts and checked by its `crdProblems`.
 */
import ts from 'typescript';
import { crdProblems } from './crd-types.js';
import { ROOT, type K8sObject } from './rendered-manifests.js';

/** Module of the model of an apiVersion, or undefined when there is none. */
export function modelModule(apiVersion: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}`;
  if (!group.includes('.') || (group.endsWith('.k8s.io') && !group.startsWith('gateway.'))) return `kubernetes-models/${group}/${version}`;
  const packages: Record<string, string> = {
    'keda.sh': '@kubernetes-models/keda',
    'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
    'postgresql.cnpg.io': '@kubernetes-models/cloudnative-pg',
    'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
  };
  const pkg = packages[group];
  return pkg === undefined ? undefined : `${pkg}/${group}/${version}`;
}

/** Kinds typed by crd-types.ts. */
const HAND_TYPED: Record<string, string> = { 'ray.io/v1/RayService': 'IRayService', 'barmancloud.cnpg.io/v1/ObjectStore': 'IObjectStore' };

const where = (o: K8sObject) => `${o.metadata.namespace === undefined ? '' : `${o.metadata.namespace}/`}${o.kind}/${o.metadata.name}`;

/** Problems `validate()` finds (and kinds with no model at all). */
export async function modelProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    if (HAND_TYPED[`${o.apiVersion}/${o.kind}`] !== undefined) {
      problems.push(...crdProblems(o).map((p) => `${where(o)}: ${p}`));
      continue;
    }
    const mod = modelModule(o.apiVersion);
    const Model = mod === undefined ? undefined : ((await import(mod).catch(() => ({}))) as Record<string, unknown>)[o.kind];
    if (typeof Model !== 'function') {
      problems.push(`${where(o)}: no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new (Model as new (d: unknown) => { validate(): void })(o).validate();
    } catch (err) {
      problems.push(`${where(o)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Problems TypeScript finds compiling every object as a literal of its type
 * (unknown fields above all), each prefixed with the object's namespace/kind/name.
 * One program for all objects given: pass every overlay at once.
 */
export function typeProblems(objects: readonly K8sObject[]): string[] {
  const file = `${ROOT}deploy/test/__rendered-objects__.ts`;
  const imports = new Map<string, string>();
  const body: string[] = [];
  const owners: { line: number; object: K8sObject }[] = [];
  for (const o of objects) {
    const hand = HAND_TYPED[`${o.apiVersion}/${o.kind}`];
    let type: string;
    if (hand !== undefined) {
      if (!imports.has('./crd-types.js')) imports.set('./crd-types.js', 'crd');
      type = `crd.${hand}`;
    } else {
      const mod = modelModule(o.apiVersion);
      if (mod === undefined) continue; // reported by modelProblems
      if (!imports.has(mod)) imports.set(mod, `m${imports.size}`);
      type = `${imports.get(mod)!}.I${o.kind}`;
    }
    owners.push({ line: body.length, object: o });
    body.push(...`export const o${owners.length}: ${type} = ${JSON.stringify(o, null, 1)};`.split('\n'));
  }
  const header = [...imports].map(([mod, alias]) => `import type * as ${alias} from '${mod}';`);
  const source = [...header, ...body].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file)!;
  return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map((d) => {
    const line = (d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line) - header.length;
    let k = 0;
    while (k + 1 < owners.length && owners[k + 1]!.line <= line) k++;
    const owner = owners[k]?.object;
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    return `${owner === undefined ? '?' : where(owner)}: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
  });
}
