/**
 * Offline schema validation of rendered objects: Kubernetes kinds against the OpenAPI schemas
 * shipped by `kubernetes-models`, the CloudNativePG Cluster against the JSON schema in
 * `schemas/cnpg-cluster.schema.json`; the KEDA and Prometheus Operator custom resources against the
 * CRD models of `@kubernetes-models/keda` and `@kubernetes-models/prometheus-operator`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { deployPath } from '../paths.js';
import { type K8sObject, typeKey } from './manifests.js';

type Validator = (o: K8sObject) => void;

function model(Model: new (data: never) => { validate(): void }): Validator {
  return (o) => new Model(o as never).validate();
}

function jsonSchema(relative: string): Validator {
  let schema: z.ZodType | undefined;
  return (o) => {
    schema ??= z.fromJSONSchema(JSON.parse(readFileSync(deployPath(relative), 'utf8')) as Parameters<typeof z.fromJSONSchema>[0]);
    const result = schema.safeParse(o);
    if (!result.success) {
      throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    }
  };
}

/** Validators by `apiVersion/kind`. */
export const VALIDATORS: Readonly<Record<string, Validator>> = {
  'v1/Namespace': model(Namespace),
  'v1/ServiceAccount': model(ServiceAccount),
  'v1/ConfigMap': model(ConfigMap),
  'v1/Secret': model(Secret),
  'v1/Service': model(Service),
  'apps/v1/Deployment': model(Deployment),
  'batch/v1/Job': model(Job),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'autoscaling/v2/HorizontalPodAutoscaler': model(HorizontalPodAutoscaler),
  'networking.k8s.io/v1/NetworkPolicy': model(NetworkPolicy),
  'postgresql.cnpg.io/v1/Cluster': jsonSchema('schemas/cnpg-cluster.schema.json'),
  'keda.sh/v1alpha1/ScaledObject': model(ScaledObject),
  'monitoring.coreos.com/v1/PodMonitor': model(PodMonitor),
  'monitoring.coreos.com/v1/PrometheusRule': model(PrometheusRule),
};

/** Validates `o`; throws naming the object and every schema violation. */
export function validateObject(o: K8sObject): void {
  const validate = VALIDATORS[typeKey(o)];
  if (!validate) throw new Error(`no schema for ${typeKey(o)} (${o.metadata.name})`);
  try {
    validate(o);
  } catch (err) {
    throw new Error(`${typeKey(o)} ${o.metadata.name}: ${(err as Error).message}`);
  }
}
