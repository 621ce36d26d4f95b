/**
 * The NetworkPolicies of every overlay, evaluated on the connections Gantry needs and on some
 * it must not get: the API takes traffic from anywhere on its port, metrics only from the
 * monitoring namespace; the services reach DNS, PostgreSQL and NATS; nothing else gets through.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { connectionAllowed, type Endpoint } from './checks/netpol.js';
import { type K8sObject, ofKind, overlays, readManifest, renderOverlay } from './checks/manifests.js';
import { workloads } from './checks/workloads.js';

/** CloudNativePG labels its pods with the cluster's name. */
const PG_CLUSTER = readManifest('postgres/cluster.yaml')[0]!.metadata.name;
const postgres: Endpoint = { namespace: '', podLabels: { 'cnpg.io/cluster': PG_CLUSTER, 'cnpg.io/instanceRole': 'primary' }, ports: [{ name: 'postgresql', port: 5432 }] };
const dns: Endpoint = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53 }] };
const prometheus: Endpoint = { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } };
const stranger: Endpoint = { namespace: 'default', podLabels: { app: 'curious' } };
const internet: Endpoint = { external: true, namespace: '', podLabels: {} };

/** The NATS server pods of the Helm release the ConfigMap's NATS_URL names (`nats.<namespace>.svc…`). */
function natsFrom(objects: readonly K8sObject[]): Endpoint {
  const url = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('gantry-config-')) as unknown as { data: { NATS_URL: string } }).data.NATS_URL;
  const [release, namespace] = new URL(url).hostname.split('.');
  return {
    namespace: namespace!,
    podLabels: { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': release!, 'app.kubernetes.io/component': 'nats' },
    ports: [{ name: 'nats', port: Number(new URL(url).port) }],
  };
}

const rendered = new Map<string, K8sObject[]>();
beforeAll(() => {
  for (const overlay of overlays()) rendered.set(overlay, renderOverlay(overlay));
});

describe.each(overlays())('overlay %s', (overlay) => {
  const objects = () => rendered.get(overlay)!;
  const policies = () => ofKind<INetworkPolicy>(objects(), 'NetworkPolicy') as never[];
  const pod = (command: string): Endpoint => {
    const w = workloads(objects()).find((x) => x.command === command)!;
    return { namespace: w.object.metadata.namespace!, podLabels: w.podLabels, ports: (w.container.ports ?? []).map((p) => ({ name: p.name!, port: p.containerPort })) };
  };
  const allowed = (from: Endpoint, to: Endpoint, port: number, protocol = 'TCP') => connectionAllowed(policies(), from, to, port, protocol);
  const here = (e: Endpoint): Endpoint => ({ ...e, namespace: pod('api').namespace });

  it('lets every service reach DNS, PostgreSQL and NATS, and the migration DNS and PostgreSQL only', () => {
    const nats = natsFrom(objects());
    for (const command of ['api', 'scheduler', 'worker', 'migrate']) {
      expect.soft(allowed(pod(command), dns, 53, 'UDP'), `${command} → DNS`).toBe(true);
      expect.soft(allowed(pod(command), here(postgres), 5432), `${command} → PostgreSQL`).toBe(true);
      expect.soft(allowed(pod(command), nats, 4222), `${command} → NATS`).toBe(command !== 'migrate');
    }
  });

  it('takes traffic to the API port from anywhere and to metrics ports only from the monitoring namespace', () => {
    expect(allowed(stranger, pod('api'), 8080)).toBe(true);
    expect(allowed(internet, pod('api'), 8080)).toBe(true);
    for (const command of ['scheduler', 'worker']) {
      const port = pod(command).ports![0]!.port;
      expect.soft(allowed(prometheus, pod(command), port), `Prometheus → ${command}`).toBe(true);
      expect.soft(allowed(stranger, pod(command), port), `stranger → ${command}`).toBe(false);
    }
    expect(allowed(prometheus, pod('api'), 8080)).toBe(true);
  });

  it('refuses everything else: other ports, other pods, the internet (but for the workers’ HTTPS)', () => {
    expect(allowed(stranger, pod('api'), 22)).toBe(false);
    expect(allowed(stranger, pod('migrate'), 8080)).toBe(false);
    expect(allowed(pod('api'), stranger, 80)).toBe(false);
    expect(allowed(pod('scheduler'), here(postgres), 5433)).toBe(false);
    expect(allowed(pod('api'), internet, 443)).toBe(false);
    expect(allowed(pod('scheduler'), internet, 443)).toBe(false);
    expect(allowed(pod('worker'), internet, 443)).toBe(true);
    expect(allowed(pod('worker'), internet, 80)).toBe(false);
  });
});

describe('the evaluator', () => {
  const deny = { metadata: { name: 'deny', namespace: 'a' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } } as never;
  const a: Endpoint = { namespace: 'a', podLabels: { app: 'x' }, ports: [{ name: 'http', port: 80 }] };
  const b: Endpoint = { namespace: 'b', podLabels: { app: 'y' }, ports: [{ name: 'http', port: 80 }] };

  it('allows what no policy isolates and denies what a default-deny isolates', () => {
    expect(connectionAllowed([], a, b, 80)).toBe(true);
    expect(connectionAllowed([deny], a, b, 80)).toBe(false);
    expect(connectionAllowed([deny], b, a, 80)).toBe(false);
  });

  it('needs a pod selector peer in the policy’s own namespace and a named port of the destination', () => {
    const allowFromX = {
      metadata: { name: 'x', namespace: 'a' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'x' } } }], ports: [{ port: 'http' }] }] },
    } as never;
    const sameNs: Endpoint = { ...b, namespace: 'a', podLabels: { app: 'x' } };
    expect(connectionAllowed([allowFromX], sameNs, a, 80)).toBe(true);
    expect(connectionAllowed([allowFromX], { ...b, podLabels: { app: 'x' } }, a, 80)).toBe(false);
    expect(connectionAllowed([allowFromX], sameNs, a, 81)).toBe(false);
  });
});
