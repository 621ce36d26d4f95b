/**
 * README "Security" says to give each service its own NATS user; the manifests read one Secret,
 * `gantry-secrets`, whole into api, scheduler and worker alike, so they could only share a NATS
 * user. Each service now also reads a Secret of its own, `gantry-<service>-secrets`, after the
 * shared one, so that its NATS_USER and NATS_PASSWORD there win.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type K8sObject, overlays, renderOverlay } from './checks/manifests.js';
import { workloads } from './checks/workloads.js';

const SERVICES = ['api', 'scheduler', 'worker'];

describe.each(overlays())('overlay %s', (overlay) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = renderOverlay(overlay);
  });

  it('gives each service a Secret of its own, read after the shared one', () => {
    const secrets = workloads(objects)
      .filter((w) => SERVICES.includes(w.command))
      .map((w) => [w.command, (w.container.envFrom ?? []).flatMap((ref) => (ref.secretRef?.name ? [ref.secretRef.name] : []))] as const);
    expect(Object.fromEntries(secrets)).toEqual({
      api: ['gantry-secrets', 'gantry-api-secrets'],
      scheduler: ['gantry-secrets', 'gantry-scheduler-secrets'],
      worker: ['gantry-secrets', 'gantry-worker-secrets'],
    });
  });
});
