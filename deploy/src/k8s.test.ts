/**
 * Every kustomize overlay renders, every rendered object validates against its schema offline,
 * and the objects keep the promises the README makes about them: restricted security, probes on
 * the right endpoints, requests and limits, termination grace that covers the drain, valid
 * configuration for each service, references that resolve, and a migration that runs first.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import { BASE_ENV, DEFAULT_CHECK_TIMEOUT_MS, type EnvShape, HealthPaths, loadConfig } from '@gantry/runtime';
import { serviceNodeFlags } from '@gantry/testkit';
import { API_ENV } from '../../services/api/src/config.js';
import { SCHEDULER_ENV } from '../../services/scheduler/src/config.js';
import { WORKER_ENV } from '../../services/worker/src/config.js';
import { COMMANDS } from '../image/commands.js';
import { byName, type K8sObject, ofKind, overlays, readManifest, renderOverlay, selects, typeKey } from './checks/manifests.js';
import { validateObject, VALIDATORS } from './checks/validate.js';
import { quantity, resolveEnv, type Workload, workloads } from './checks/workloads.js';
import { instructionsOf, parseDockerfile } from './image/dockerfile.js';
import { deployPath } from './paths.js';

/** Each service's configuration shape (the migration reads the shared variables only). */
const SHAPES: Readonly<Record<string, EnvShape>> = { api: API_ENV, scheduler: SCHEDULER_ENV, worker: WORKER_ENV, migrate: {} };
/** Variables a container may set that are not Gantry's configuration. */
const RUNTIME_VARIABLES = new Set(['NODE_OPTIONS']);
/** Secrets created outside these manifests: CloudNativePG's application secret of the cluster. */
const CNPG_CLUSTER = readManifest('postgres/cluster.yaml')[0]!;
const STAND_INS = {
  secrets: { [`${CNPG_CLUSTER.metadata.name}-app/uri`]: 'postgresql://gantry:secret@gantry-db-rw.gantry:5432/gantry' },
  fields: { 'metadata.name': 'gantry-worker-5d8f7c9b6-x2lqz' },
};
/** The capabilities of a root worker whose job processes run as another user. */
const ISOLATION_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'KILL', 'SETGID', 'SETUID'];

/** The worker workload that runs job processes as another user (WORKER_STEP_USER set), if any. */
function isolatingWorker(objects: readonly K8sObject[]): Workload | undefined {
  return workloads(objects).find((w) => w.command === 'worker' && w.container.env?.some((e) => e.name === 'WORKER_STEP_USER' && e.value !== 'worker'));
}

/** Label marking what must be applied before the migration Job runs. */
const PRE_ROLLOUT = 'gantry.dev/phase';

const rendered = new Map<string, K8sObject[]>();
beforeAll(() => {
  for (const overlay of overlays()) rendered.set(overlay, renderOverlay(overlay));
});

it('there are a dev and a production overlay', () => {
  expect(overlays()).toEqual(['dev', 'production']);
});

it('isolates job processes from the worker in production (components/isolated-steps)', () => {
  expect(isolatingWorker(rendered.get('production')!)?.name).toBe('gantry-worker');
  expect(isolatingWorker(rendered.get('dev')!)).toBeUndefined();
});

describe.each(overlays())('overlay %s', (overlay) => {
  const objects = () => rendered.get(overlay)!;
  const loads = () => workloads(objects());
  const namespace = () => ofKind<K8sObject>(objects(), 'Namespace')[0]!.metadata.name;
  const deployment = (command: string) => loads().find((w) => w.kind === 'Deployment' && w.command === command)!;

  it('renders the three services, the migration Job and their namespace', () => {
    expect(loads().map((w) => `${w.kind}/${w.command}`).sort()).toEqual(['Deployment/api', 'Deployment/scheduler', 'Deployment/worker', 'Job/migrate']);
    expect(ofKind(objects(), 'Namespace')).toHaveLength(1);
    const outside = objects().filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace());
    expect(outside.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('validates every object against its schema offline', () => {
    const problems: string[] = [];
    for (const o of objects()) {
      try {
        validateObject(o);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has a schema for every kind it renders', () => {
    const kinds = new Set(objects().map(typeKey));
    expect([...kinds].filter((k) => !VALIDATORS[k])).toEqual([]);
  });

  it('runs every pod non-root, read-only, without capabilities or a service account token, under RuntimeDefault seccomp (but an isolating worker)', () => {
    const imageUser = instructionsOf(parseDockerfile(readFileSync(deployPath('Dockerfile'), 'utf8')).stages.at(-1)!, 'USER')[0]!.user;
    const isolating = isolatingWorker(objects());
    for (const w of loads()) {
      const pod = w.pod.securityContext ?? {};
      const c = w.container.securityContext ?? {};
      if (w.name === isolating?.name) {
        // Root with only what starting, signalling and cleaning up after another user's processes takes.
        expect.soft(pod, w.name).toMatchObject({ runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } });
        expect.soft(c.capabilities?.add, w.name).toEqual(ISOLATION_CAPABILITIES);
      } else {
        expect.soft(pod, w.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect.soft(`${pod.runAsUser}:${pod.runAsGroup}`, `${w.name} runs as the image's user`).toBe(imageUser);
        expect.soft(c.capabilities?.add ?? [], w.name).toEqual([]);
      }
      expect.soft(w.pod.automountServiceAccountToken, w.name).toBe(false);
      expect.soft(w.pod.hostNetwork ?? false, w.name).toBe(false);
      expect.soft(c, w.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect.soft(c.capabilities?.drop, w.name).toEqual(['ALL']);
      expect.soft(c.privileged ?? false, w.name).toBe(false);
      // A read-only root filesystem needs a writable /tmp (job directories, temporary files).
      expect.soft(w.container.volumeMounts?.map((m) => m.mountPath), w.name).toContain('/tmp');
    }
    // `restricted` admits no root container: with an isolating worker the namespace enforces `baseline` and still warns and audits against `restricted`.
    const labels = ofKind<K8sObject>(objects(), 'Namespace')[0]!.metadata.labels ?? {};
    if (isolating) {
      expect(labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/audit': 'restricted' });
    } else {
      expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    }
  });

  it('probes each service: startup and liveness on /healthz (the process), readiness on /readyz (its dependencies)', () => {
    for (const w of loads().filter((x) => x.kind === 'Deployment')) {
      const c = w.container;
      const ports = (c.ports ?? []).map((p) => p.name);
      for (const [probe, path] of [
        [c.startupProbe, HealthPaths.healthz],
        [c.livenessProbe, HealthPaths.healthz],
        [c.readinessProbe, HealthPaths.readyz],
      ] as const) {
        expect.soft(probe?.httpGet?.path, w.name).toBe(path);
        expect.soft(ports, `${w.name} probes a port it declares`).toContain(probe?.httpGet?.port);
      }
      // The readiness endpoint waits up to DEFAULT_CHECK_TIMEOUT_MS per dependency.
      expect.soft((c.readinessProbe?.timeoutSeconds ?? 1) * 1000, w.name).toBeGreaterThan(DEFAULT_CHECK_TIMEOUT_MS);
    }
  });

  it("runs each service with its node flags, and a memory limit above the heap they allow", () => {
    for (const w of loads().filter((x) => x.kind === 'Deployment')) {
      const options = (w.container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '').split(/\s+/);
      for (const flag of serviceNodeFlags(w.command)) expect.soft(options, `${w.name} NODE_OPTIONS`).toContain(flag);
      // V8's heap limit: the old space plus three semi-spaces (two, and as much for large new objects); 16 MB by default.
      const mb = (name: string, fallback: number) => Number(options.find((o) => o.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
      const heapMiB = mb('max-old-space-size', Number.POSITIVE_INFINITY) + 3 * mb('max-semi-space-size', 16);
      const limit = w.container.resources?.limits?.memory;
      // Room beyond the heap for code, buffers and native memory.
      if (limit !== undefined) expect.soft(quantity(limit) / 2 ** 20, `${w.name} memory limit (MiB) over its heap of ${heapMiB} MiB`).toBeGreaterThanOrEqual(heapMiB + 64);
    }
  });

  it('requests and limits CPU and memory for every container, limits at least the requests', () => {
    for (const w of loads()) {
      const r = w.container.resources ?? {};
      for (const resource of ['cpu', 'memory']) {
        const request = r.requests?.[resource];
        const limit = r.limits?.[resource];
        expect.soft(request, `${w.name} ${resource} request`).toBeDefined();
        expect.soft(limit, `${w.name} ${resource} limit`).toBeDefined();
        if (request !== undefined && limit !== undefined) expect.soft(quantity(limit), `${w.name} ${resource}`).toBeGreaterThanOrEqual(quantity(request));
      }
    }
  });

  it('gives each service a valid environment: known variables only, accepted by its own configuration parser', () => {
    for (const w of loads()) {
      const shape = SHAPES[w.command];
      expect(shape, `${w.name} runs a known command`).toBeDefined();
      const known = new Set([...Object.keys(BASE_ENV), ...Object.keys(shape!)]);
      const { env, fromConfigMaps, problems } = resolveEnv(w.container, objects(), STAND_INS);
      expect.soft(problems, w.name).toEqual([]);
      for (const [cm, keys] of fromConfigMaps) {
        expect.soft(keys.filter((k) => !known.has(k)), `ConfigMap ${cm} keys unknown to ${w.command}`).toEqual([]);
      }
      const direct = (w.container.env ?? []).map((e) => e.name).filter((n) => !known.has(n) && !RUNTIME_VARIABLES.has(n));
      expect.soft(direct, `${w.name} env`).toEqual([]);
      expect.soft(() => loadConfig(shape, env), `${w.name}'s configuration parses`).not.toThrow();
    }
  });

  it('gives each service a termination grace that covers its preStop pause and its shutdown timeout', () => {
    for (const w of loads().filter((x) => x.kind === 'Deployment')) {
      const { env } = resolveEnv(w.container, objects(), STAND_INS);
      const config = loadConfig(SHAPES[w.command], env) as { shutdownTimeoutMs: number; workerDrainGraceMs?: number };
      const preStopMs = (w.container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      const graceMs = (w.pod.terminationGracePeriodSeconds ?? 30) * 1000;
      expect.soft(graceMs, w.name).toBeGreaterThanOrEqual(preStopMs + config.shutdownTimeoutMs + 5_000);
      if (w.command === 'worker') expect.soft(config.workerDrainGraceMs!, 'the drain fits in the shutdown timeout').toBeLessThan(config.shutdownTimeoutMs);
    }
  });

  it('runs the image with a pinned tag and a command its entrypoint knows', () => {
    for (const w of loads()) {
      expect.soft(w.container.image, w.name).toMatch(/(^|\/)gantry:(?!latest$)[\w.-]+$/);
      expect.soft(Object.keys(COMMANDS), w.name).toContain(w.command);
    }
  });

  it('selects its own pods in every Deployment, Service, PodDisruptionBudget and NetworkPolicy', () => {
    for (const w of loads().filter((x) => x.kind === 'Deployment')) {
      expect.soft(selects((w.object.spec as IDeployment['spec'])!.selector as never, w.podLabels), w.name).toBe(true);
    }
    const deployments = loads().filter((x) => x.kind === 'Deployment');
    for (const svc of ofKind<IService>(objects(), 'Service')) {
      const targets = deployments.filter((d) => selects({ matchLabels: svc.spec?.selector }, d.podLabels));
      expect.soft(targets.map((d) => d.command), `Service ${svc.metadata.name}`).toHaveLength(1);
      for (const port of svc.spec?.ports ?? []) {
        expect.soft(targets[0]?.container.ports?.map((p) => p.name), `Service ${svc.metadata.name} targetPort`).toContain(port.targetPort);
      }
    }
    for (const pdb of ofKind<IPodDisruptionBudget>(objects(), 'PodDisruptionBudget')) {
      expect.soft(deployments.filter((d) => selects(pdb.spec?.selector as never, d.podLabels)), `PDB ${pdb.metadata.name}`).toHaveLength(1);
    }
    for (const np of ofKind<INetworkPolicy>(objects(), 'NetworkPolicy')) {
      expect.soft(loads().some((w) => selects(np.spec?.podSelector as never, w.podLabels)), `NetworkPolicy ${np.metadata.name} selects a Gantry pod`).toBe(true);
    }
  });

  it('leaves the replica count of autoscaled Deployments to their autoscaler', () => {
    const scaled = [
      ...ofKind<IHorizontalPodAutoscaler>(objects(), 'HorizontalPodAutoscaler').map((h) => h.spec!.scaleTargetRef.name),
      ...ofKind<{ spec: { scaleTargetRef: { name: string } } }>(objects(), 'ScaledObject').map((s) => s.spec.scaleTargetRef.name),
    ];
    expect(scaled).toContain('gantry-api');
    for (const name of scaled) {
      const target = byName<IDeployment>(objects(), 'Deployment', name);
      expect.soft(target.spec?.replicas, `${name} is autoscaled`).toBeUndefined();
    }
  });

  it('runs the scheduler as a leader and a standby in production, replaced one at a time', () => {
    const s = deployment('scheduler').object as K8sObject & IDeployment;
    expect(s.spec?.replicas).toBe(overlay === 'production' ? 2 : 1);
    expect(s.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    const pdb = ofKind<IPodDisruptionBudget>(objects(), 'PodDisruptionBudget').find((p) => selects(p.spec?.selector as never, deployment('scheduler').podLabels))!;
    expect(pdb.spec?.maxUnavailable).toBe(1);
  });

  it('runs the migration Job once, with a deadline, before the rollout: what it needs is applied with it', () => {
    const job = loads().find((w) => w.kind === 'Job')!;
    const spec = (job.object as K8sObject & IJob).spec!;
    expect(job.command).toBe('migrate');
    expect(job.pod.restartPolicy).toBe('Never');
    expect(spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(job.object.metadata.annotations?.['argocd.argoproj.io/hook']).toBe('PreSync');
    // `kubectl apply -l gantry.dev/phase=pre-rollout` must bring everything the Job depends on.
    const phase = objects().filter((o) => o.metadata.labels?.[PRE_ROLLOUT] === 'pre-rollout');
    const has = (kind: string, name: string) => phase.some((o) => o.kind === kind && o.metadata.name === name);
    expect(has('Job', job.name)).toBe(true);
    expect(has('Namespace', namespace())).toBe(true);
    expect(has('ServiceAccount', job.pod.serviceAccountName!)).toBe(true);
    for (const ref of job.container.envFrom ?? []) if (ref.configMapRef) expect.soft(has('ConfigMap', ref.configMapRef.name!), ref.configMapRef.name).toBe(true);
    for (const np of ofKind<INetworkPolicy>(objects(), 'NetworkPolicy').filter((p) => selects(p.spec?.podSelector as never, job.podLabels))) {
      expect.soft(has('NetworkPolicy', np.metadata.name), `NetworkPolicy ${np.metadata.name} selects the Job's pod`).toBe(true);
    }
  });
});

describe('production monitoring and autoscaling', () => {
  const objects = () => rendered.get('production')!;
  const config = (name: string) => objects().find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(`${name}-`)) as K8sObject & { data: Record<string, string> };

  it('scrapes every service with the PodMonitor on ports they declare, under the job names the rules use', () => {
    const pm = ofKind<{ spec: { selector: never; podMetricsEndpoints: { port: string; path: string; relabelings: { targetLabel: string; replacement: string }[] }[] } }>(objects(), 'PodMonitor')[0]!;
    const services = workloads(objects()).filter((w) => w.kind === 'Deployment');
    for (const w of services) {
      expect.soft(selects(pm.spec.selector, w.podLabels), w.name).toBe(true);
      const scraped = pm.spec.podMetricsEndpoints.filter((e) => w.container.ports?.some((p) => p.name === e.port));
      expect.soft(scraped.map((e) => e.path), `${w.name} is scraped once on /metrics`).toEqual([HealthPaths.metrics]);
      const job = scraped[0]?.relabelings.find((r) => r.targetLabel === 'job')?.replacement.replace('$1', w.podLabels['app.kubernetes.io/component']!);
      expect.soft(job, w.name).toBe(`gantry-${w.command}`);
    }
    expect(services.some((w) => selects(pm.spec.selector, { ...w.podLabels, 'app.kubernetes.io/component': 'migrate' }))).toBe(false);
  });

  it('scales workers on the queue of their own pool and namespace, one worker per WORKER_CONCURRENCY jobs', () => {
    const so = ofKind<{ spec: { scaleTargetRef: { name: string }; triggers: { type: string; metadata: Record<string, string> }[] } }>(objects(), 'ScaledObject')[0]!;
    const worker = config('gantry-worker-config').data;
    const trigger = so.spec.triggers.find((t) => t.type === 'prometheus')!;
    expect(trigger.metadata.threshold).toBe(worker.WORKER_CONCURRENCY);
    const namespaces = [...trigger.metadata.query!.matchAll(/namespace="([^"]*)"/g)].map((m) => m[1]);
    const pools = [...trigger.metadata.query!.matchAll(/pool="([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(namespaces)).toEqual(new Set([so.metadata.namespace]));
    expect(new Set(pools)).toEqual(new Set([worker.WORKER_POOL]));
    expect(so.spec.scaleTargetRef.name).toBe('gantry-worker');
  });

  it('ships the dashboards for the Grafana sidecar in a ConfigMap that kubectl apply can store', () => {
    const cm = byName<{ data: Record<string, string> }>(objects(), 'ConfigMap', 'gantry-dashboards');
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(Object.keys(cm.data).sort()).toEqual(['gantry-event-writes.json', 'gantry-overview.json', 'gantry-workers.json']);
    // Client-side apply keeps the whole object in an annotation limited to 256 KiB.
    expect(JSON.stringify(cm).length).toBeLessThan(256 * 1024);
  });

  it('carries the rule groups of prometheus/gantry-rules.yaml in its PrometheusRule, labelled for the Prometheus that loads it', () => {
    const rule = byName<{ spec: { groups: unknown[] } }>(objects(), 'PrometheusRule', 'gantry');
    const source = readManifest('prometheus/gantry-rules.yaml')[0] as unknown as { groups: unknown[] };
    expect(rule.spec.groups).toEqual(source.groups);
    expect(rule.metadata.labels?.release).toBeDefined();
    expect(byName(objects(), 'PodMonitor', 'gantry').metadata.labels?.release).toBe(rule.metadata.labels?.release);
  });
});

describe('the schemas can fail', () => {
  it('refuses a Deployment with a malformed field', () => {
    const d = structuredClone(byName<IDeployment>(rendered.get('production')!, 'Deployment', 'gantry-api')) as unknown as { spec: { template: { spec: { containers: { resources: { limits: Record<string, string> } }[] } } } };
    d.spec.template.spec.containers[0]!.resources.limits.cpu = 'lots';
    expect(() => validateObject(d as unknown as K8sObject)).toThrow(/cpu/);
  });

  it('refuses a CloudNativePG Cluster with a numeric parameter or an unknown field', () => {
    const c = structuredClone(CNPG_CLUSTER) as K8sObject & { spec: Record<string, unknown> & { postgresql: { parameters: Record<string, unknown> } } };
    c.spec.postgresql.parameters.max_connections = 400;
    c.spec.instancez = 3;
    expect(() => validateObject(c)).toThrow(/max_connections[\s\S]*instancez|instancez[\s\S]*max_connections/);
  });

  it('finds a service variable unknown to the configuration parser', () => {
    const w: Workload = workloads(rendered.get('production')!).find((x) => x.command === 'worker')!;
    const { env } = resolveEnv(w.container, rendered.get('production')!, STAND_INS);
    expect(() => loadConfig(WORKER_ENV, { ...env, WORKER_CONCURRENCY: 'eight' })).toThrow(/WORKER_CONCURRENCY/);
  });
});
