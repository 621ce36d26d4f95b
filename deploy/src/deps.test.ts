/**
 * The dependencies as users install them — NATS from its Helm chart, PostgreSQL as a
 * CloudNativePG Cluster — and their fit with the Gantry manifests: addresses, secret names,
 * durability settings and connection capacity.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument, isMap, isPair, isScalar, type Pair } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { byName, type K8sObject, ofKind, readManifest, renderOverlay } from './checks/manifests.js';
import { validateObject } from './checks/validate.js';
import { workloads } from './checks/workloads.js';
import { deployPath } from './paths.js';

let production: K8sObject[];
beforeAll(() => {
  production = renderOverlay('production');
});
const sharedConfig = () => production.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('gantry-config-')) as K8sObject & { data: Record<string, string> };

describe('NATS (Helm values)', () => {
  const text = readFileSync(deployPath('nats/values.yaml'), 'utf8');
  const values = parse(text) as {
    config: { cluster: { enabled: boolean; replicas: number }; jetstream: { enabled: boolean; fileStore: { enabled: boolean; pvc: { enabled: boolean; size: string } }; merge: Record<string, unknown> } };
  };

  it('runs a three-server cluster with JetStream on persistent file storage', () => {
    expect(values.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values.config.jetstream).toMatchObject({ enabled: true, fileStore: { enabled: true, pvc: { enabled: true } } });
  });

  it('fsyncs every write before acknowledging it (sync_interval: always), citing the Jepsen analysis beside the setting', () => {
    expect(values.config.jetstream.merge.sync_interval).toBe('always');
    const doc = parseDocument(text);
    const merge = doc.getIn(['config', 'jetstream', 'merge'], true);
    if (!isMap(merge)) throw new Error('config.jetstream.merge is not a map');
    const pair = merge.items.find((p): p is Pair => isPair(p) && isScalar(p.key) && p.key.value === 'sync_interval')!;
    const comment = (pair.key as { commentBefore?: string }).commentBefore ?? merge.commentBefore ?? '';
    expect(comment).toMatch(/Jepsen/);
    expect(comment).toContain('https://jepsen.io/analyses/nats-2.12.1');
  });

  it('is installed as the release and namespace the services’ NATS_URL names', () => {
    const url = new URL(sharedConfig().data.NATS_URL!);
    const [release, namespace] = url.hostname.split('.');
    expect(text).toContain(`helm upgrade --install ${release} nats/nats --namespace ${namespace} `);
    expect(url.port).toBe('4222');
  });
});

/** The Cluster manifest each overlay runs against. */
const CLUSTERS = { production: 'postgres/cluster.yaml', dev: 'postgres/cluster-dev.yaml' } as const;
type Cluster = K8sObject & {
  spec: {
    instances: number;
    bootstrap: { initdb: { database: string; owner: string } };
    postgresql: { synchronous?: { number: number; dataDurability: string }; parameters: Record<string, string> };
  };
};
const cluster = (file: string) => readManifest(file)[0] as Cluster;

describe('PostgreSQL (CloudNativePG Cluster)', () => {
  it.each(Object.values(CLUSTERS))('%s validates against the Cluster schema', (file) => {
    expect(() => validateObject(cluster(file))).not.toThrow();
  });

  it('keeps three instances in production and acknowledges a commit only once a standby has it', () => {
    const c = cluster(CLUSTERS.production);
    expect(c.spec.instances).toBeGreaterThanOrEqual(3);
    expect(c.spec.postgresql.synchronous?.number).toBeGreaterThanOrEqual(1);
    expect(c.spec.postgresql.synchronous?.dataDurability).toBe('required');
  });

  describe.each(Object.entries(CLUSTERS))('with overlay %s', (overlay, file) => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = overlay === 'production' ? production : renderOverlay(overlay);
    });

    it('creates the database whose application secret the services read as DATABASE_URL', () => {
      const c = cluster(file);
      expect(c.spec.bootstrap.initdb).toMatchObject({ database: 'gantry', owner: 'gantry' });
      for (const w of workloads(objects)) {
        const ref = w.container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
        expect.soft(ref, w.name).toEqual({ name: `${c.metadata.name}-app`, key: 'uri' });
      }
    });

    it('allows the connections of every process at the autoscalers’ maximum, during a rolling update', () => {
      const shared = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('gantry-config-')) as K8sObject & { data: Record<string, string> };
      const pool = Number(shared.data.DB_POOL_SIZE);
      const deployment = (name: string) => byName<IDeployment>(objects, 'Deployment', name);
      const api = byName<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler', 'gantry-api').spec!.maxReplicas;
      const workers = ofKind<{ spec: { maxReplicaCount: number } }>(objects, 'ScaledObject')[0]?.spec.maxReplicaCount ?? deployment('gantry-worker').spec!.replicas ?? 1;
      const schedulers = deployment('gantry-scheduler').spec!.replicas!;
      // A rolling update adds up to maxSurge pods of a Deployment; the migration Job runs one more.
      const withSurge = (name: string, replicas: number) => {
        const surge = deployment(name).spec!.strategy!.rollingUpdate!.maxSurge!;
        return replicas + (typeof surge === 'number' ? surge : Math.ceil((replicas * Number.parseInt(surge, 10)) / 100));
      };
      const processes = withSurge('gantry-api', api) + withSurge('gantry-worker', workers) + withSurge('gantry-scheduler', schedulers) + 1;
      const reserved = 10; // superuser and replication connections
      expect(Number(cluster(file).spec.postgresql.parameters.max_connections)).toBeGreaterThanOrEqual(processes * pool + reserved);
    });
  });
});
