/**
 * The Gantry workloads of a rendered overlay — each Deployment and Job with its pod spec, its
 * container and the command it runs — and the environment that container gets, resolved from
 * the rendered ConfigMaps the way the kubelet resolves it.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { type K8sObject } from './manifests.js';

/** A Deployment or Job of Gantry with the command its container runs (`args[0]`). */
export interface Workload {
  readonly object: K8sObject;
  readonly kind: 'Deployment' | 'Job';
  readonly name: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly pod: IPodSpec;
  readonly container: IContainer;
  /** `api`, `scheduler`, `worker` or `migrate`. */
  readonly command: string;
}

/** The Deployments and Jobs of `objects`; each must have exactly one container. */
export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((o) => {
      const template = (o.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: IPodSpec } }).template;
      if (template.spec.containers.length !== 1) throw new Error(`${o.kind} ${o.metadata.name} must have one container`);
      const container = template.spec.containers[0]!;
      return {
        object: o,
        kind: o.kind as Workload['kind'],
        name: o.metadata.name,
        podLabels: template.metadata?.labels ?? {},
        pod: template.spec,
        container,
        command: container.args?.[0] ?? '',
      };
    });
}

/** Stand-ins for values that come from Secrets and the downward API at run time. */
export interface EnvStandIns {
  /** `name/key` of a secretKeyRef → value. */
  readonly secrets: Readonly<Record<string, string>>;
  /** fieldRef path → value. */
  readonly fields: Readonly<Record<string, string>>;
}

/** Where each variable of a container's environment comes from. */
export interface ResolvedEnv {
  readonly env: Record<string, string>;
  /** Keys that came from ConfigMaps (by ConfigMap name). */
  readonly fromConfigMaps: Map<string, string[]>;
  /** Problems: a missing ConfigMap or key, a Secret without a stand-in, an unknown fieldRef. */
  readonly problems: string[];
}

/** Resolves `container`'s environment against the rendered `objects`. */
export function resolveEnv(container: IContainer, objects: readonly K8sObject[], standIns: EnvStandIns): ResolvedEnv {
  const env: Record<string, string> = {};
  const fromConfigMaps = new Map<string, string[]>();
  const problems: string[] = [];
  const configMap = (name: string) => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as (K8sObject & { data?: Record<string, string> }) | undefined;
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const cm = configMap(source.configMapRef.name ?? '');
      if (!cm) {
        if (!source.configMapRef.optional) problems.push(`ConfigMap ${source.configMapRef.name} is not rendered`);
        continue;
      }
      Object.assign(env, cm.data ?? {});
      fromConfigMaps.set(cm.metadata.name, Object.keys(cm.data ?? {}));
    } else if (source.secretRef && !source.secretRef.optional) {
      problems.push(`envFrom Secret ${source.secretRef.name} is required but its keys are unknown here; make it optional or list its keys`);
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
      const v = standIns.secrets[ref];
      if (v === undefined) problems.push(`${e.name} comes from Secret ${ref}, which nothing documents`);
      else env[e.name] = v;
    } else if (e.valueFrom?.configMapKeyRef) {
      const v = configMap(e.valueFrom.configMapKeyRef.name ?? '')?.data?.[e.valueFrom.configMapKeyRef.key];
      if (v === undefined) problems.push(`${e.name} refers to a missing ConfigMap key`);
      else env[e.name] = v;
    } else if (e.valueFrom?.fieldRef) {
      const v = standIns.fields[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) problems.push(`${e.name} comes from field ${e.valueFrom.fieldRef.fieldPath}`);
      else env[e.name] = v;
    }
  }
  return { env, fromConfigMaps, problems };
}

/** A Kubernetes quantity (`250m`, `1`, `512Mi`, `1Gi`) as a number of base units. */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`unsupported quantity ${q}`);
  const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * (m[2] ? factor[m[2]]! : 1);
}
