/**
 * Kubernetes NetworkPolicy semantics, enough to ask whether one pod may open a connection to
 * another: the connection needs the source's egress and the destination's ingress. A pod that no
 * policy selects for a direction is not isolated in it. Peers are pod selectors (in the policy's
 * namespace), namespace selectors, both, or IP blocks (which here match only endpoints outside
 * the cluster); ports are numbers or the destination container's port names.
 */
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { selects } from './manifests.js';

/** One side of a connection. */
export interface Endpoint {
  /** Outside the cluster (reached through an IP block); the other fields are then unused. */
  readonly external?: boolean;
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
  /** Named container ports of the pod. */
  readonly ports?: readonly { readonly name: string; readonly port: number }[];
}

type Policy = INetworkPolicy & { metadata: { name: string; namespace?: string } };
type Peer = NonNullable<NonNullable<NonNullable<INetworkPolicy['spec']>['ingress']>[number]['from']>[number];
type PortRule = NonNullable<NonNullable<NonNullable<INetworkPolicy['spec']>['ingress']>[number]['ports']>[number];

/** The namespace's labels as Kubernetes sets them (`kubernetes.io/metadata.name`). */
function namespaceLabels(namespace: string): Record<string, string> {
  return { 'kubernetes.io/metadata.name': namespace };
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) return other.external === true;
  if (other.external) return false;
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector as never, namespaceLabels(other.namespace)) : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector as never, other.podLabels) : true;
  return nsOk && podOk;
}

function isEmptySelector(s: { matchLabels?: object; matchExpressions?: unknown[] }): boolean {
  return Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;
}

function portMatches(rules: readonly PortRule[] | undefined, port: number, protocol: string, destination: Endpoint): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.some((r) => {
    if ((r.protocol ?? 'TCP') !== protocol) return false;
    if (r.port === undefined) return true;
    if (typeof r.port === 'number') return r.endPort === undefined ? r.port === port : port >= r.port && port <= r.endPort;
    return destination.ports?.some((p) => p.name === r.port && p.port === port) ?? false;
  });
}

function policiesFor(policies: readonly Policy[], pod: Endpoint, direction: 'Ingress' | 'Egress'): Policy[] {
  return policies.filter((p) => {
    const spec = p.spec ?? {};
    const types = spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
    const podSelector = spec.podSelector ?? {};
    const selected = isEmptySelector(podSelector) || selects(podSelector as never, pod.podLabels);
    return (p.metadata.namespace ?? pod.namespace) === pod.namespace && types.includes(direction) && selected;
  });
}

/** True when `from` may connect to `to` on `port`/`protocol` under `policies`. */
export function connectionAllowed(policies: readonly Policy[], from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): boolean {
  const egressOk = (() => {
    if (from.external) return true;
    const applying = policiesFor(policies, from, 'Egress');
    if (applying.length === 0) return true;
    return applying.some((p) =>
      (p.spec?.egress ?? []).some((rule) => (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, from.namespace, to))) && portMatches(rule.ports, port, protocol, to)),
    );
  })();
  const ingressOk = (() => {
    if (to.external) return true;
    const applying = policiesFor(policies, to, 'Ingress');
    if (applying.length === 0) return true;
    return applying.some((p) =>
      (p.spec?.ingress ?? []).some(
        (rule) => (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, to.namespace, from))) && portMatches(rule.ports, port, protocol, to),
      ),
    );
  })();
  return egressOk && ingressOk;
}
