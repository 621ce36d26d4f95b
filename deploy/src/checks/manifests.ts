/**
 * Renders the kustomize overlays with `kubectl kustomize` (Kustomize v5; scripts/ensure-tools.sh
 * installs kubectl where it is missing) and reads the objects, plus the standalone manifests of
 * the dependencies (deploy/postgres/cluster.yaml).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { deployPath } from '../paths.js';

/** A Kubernetes object as rendered (typed where the checks read it). */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** The overlays under `k8s/overlays/`, by directory name. */
export function overlays(): string[] {
  return readdirSync(deployPath('k8s/overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Parses a multi-document YAML stream into objects; throws on a YAML error. */
export function parseObjects(text: string, origin: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** `kubectl kustomize k8s/overlays/<overlay>`'s objects; throws with kubectl's message on failure. */
export function renderOverlay(overlay: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', deployPath(`k8s/overlays/${overlay}`)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl kustomize ${overlay} failed: ${e.stderr || e.message}`);
  }
  return parseObjects(out, `overlay ${overlay}`);
}

/** The objects of a YAML file in `deploy/`. */
export function readManifest(relative: string): K8sObject[] {
  return parseObjects(readFileSync(deployPath(relative), 'utf8'), relative);
}

/** `group/version/Kind` (or `version/Kind` for the core group) of an object. */
export function typeKey(o: Pick<K8sObject, 'apiVersion' | 'kind'>): string {
  return `${o.apiVersion}/${o.kind}`;
}

/** The objects of `kind`, typed as `T`. */
export function ofKind<T>(objects: readonly K8sObject[], kind: string): (T & K8sObject)[] {
  return objects.filter((o) => o.kind === kind) as (T & K8sObject)[];
}

/** The one object of `kind` named `name`; throws when there is none. */
export function byName<T>(objects: readonly K8sObject[], kind: string, name: string): T & K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.length} objects`);
  return found as T & K8sObject;
}

/** True when `labels` satisfy a label selector (matchLabels and matchExpressions). */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key]!);
    const ok =
      e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? has : e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}
