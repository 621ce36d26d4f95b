/**
 * Idempotent JetStream provisioning from the settings in `@gantry/contracts`: a stream,
 * consumer or bucket is created when missing, updated in place when a setting changed, and
 * left alone otherwise. Provisioning never deletes a stream, a consumer or a message; a change
 * the server refuses (retention, storage) fails with a {@link ProvisionError} naming the
 * resource and the fields. Replicas running it concurrently converge on the same result.
 *
 * Gantry's settings are in milliseconds and bytes; the NATS API takes nanoseconds. Everything
 * here runs on NATS 2.9: one `filter_subject` per consumer, no priority groups, no per-message
 * TTL, and `max_deliver` greater than the number of backoff steps.
 */
import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { nanos } from '@nats-io/transport-node';
import {
  DEFAULT_POOL,
  bucketSettings,
  dispatchConsumer,
  schedulerConsumer,
  streamSettings,
  type ConsumerSettings,
  type Names,
  type StreamSettings,
} from '@gantry/contracts';
import { ackWaitEqual, changedFields, toConsumerConfig, toStreamConfig } from './jetstream-config.js';
import type { Logger } from './logger.js';

/** What provisioning did to one resource. */
export type ProvisionOutcome = 'created' | 'updated' | 'unchanged';

/** One provisioned resource. */
export interface ProvisionResult {
  readonly kind: 'stream' | 'consumer' | 'bucket';
  /** Stream name, `<stream>/<durable>` for a consumer, bucket name for a bucket. */
  readonly name: string;
  readonly outcome: ProvisionOutcome;
  /** The settings that differed, for `updated`. */
  readonly changed: readonly string[];
}

/** Options of {@link provision}. */
export interface ProvisionOptions {
  /** Worker pools whose dispatch consumers to provision; default `[DEFAULT_POOL]`. */
  readonly pools?: readonly string[];
  /** Stream replicas (3 on a production cluster); default 1. */
  readonly replicas?: number;
  readonly logger?: Logger;
}

/** The server refused to create or update a resource. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(
    readonly resource: string,
    readonly changed: readonly string[],
    cause: unknown,
  ) {
    const fields = changed.length > 0 ? ` (changing ${changed.join(', ')})` : '';
    super(`cannot provision ${resource}${fields}: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
}

function pick<T extends object>(obj: T, keys: readonly (keyof T)[]): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, obj[k]])) as Partial<T>;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

async function infoOrUndefined<T>(get: () => Promise<T>, notFound: number): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isApiError(err, notFound)) return undefined;
    throw err;
  }
}

/** Creates the stream if missing, updates the settings that differ, never deletes. */
export async function ensureStream(
  jsm: JetStreamManager,
  settings: StreamSettings,
  replicas = 1,
): Promise<ProvisionResult> {
  const desired = toStreamConfig(settings, replicas);
  const info = () => jsm.streams.info(settings.name);
  let current = await infoOrUndefined(info, JetStreamApiCodes.StreamNotFound);
  if (!current) {
    try {
      await jsm.streams.add(desired);
      return { kind: 'stream', name: settings.name, outcome: 'created', changed: [] };
    } catch (err) {
      current = await infoOrUndefined(info, JetStreamApiCodes.StreamNotFound);
      if (!current) throw new ProvisionError(`stream ${settings.name}`, [], err);
    }
  }
  const { name: _name, ...updatable } = desired;
  const changed = changedFields(updatable, current.config);
  if (changed.length === 0) return { kind: 'stream', name: settings.name, outcome: 'unchanged', changed };
  try {
    await jsm.streams.update(settings.name, pick(updatable, changed));
  } catch (err) {
    throw new ProvisionError(`stream ${settings.name}`, changed, err);
  }
  return { kind: 'stream', name: settings.name, outcome: 'updated', changed };
}

/**
 * Creates the durable consumer if missing, updates the settings that differ, never deletes.
 * The server replaces `ack_wait` with the first backoff step; that is not a difference.
 */
export async function ensureConsumer(jsm: JetStreamManager, settings: ConsumerSettings): Promise<ProvisionResult> {
  const desired = toConsumerConfig(settings);
  const name = `${settings.stream}/${settings.durableName}`;
  const info = () => jsm.consumers.info(settings.stream, settings.durableName);
  let current = await infoOrUndefined(info, JetStreamApiCodes.ConsumerNotFound);
  if (!current) {
    try {
      await jsm.consumers.add(settings.stream, desired);
      return { kind: 'consumer', name, outcome: 'created', changed: [] };
    } catch (err) {
      current = await infoOrUndefined(info, JetStreamApiCodes.ConsumerNotFound);
      if (!current) throw new ProvisionError(`consumer ${name}`, [], err);
    }
  }
  const { durable_name: _durable, ...updatable } = desired;
  const changed = changedFields(updatable, current.config, { ack_wait: ackWaitEqual(desired.backoff ?? []) });
  if (changed.length === 0) return { kind: 'consumer', name, outcome: 'unchanged', changed };
  try {
    await jsm.consumers.update(settings.stream, settings.durableName, pick(updatable, changed));
  } catch (err) {
    throw new ProvisionError(`consumer ${name}`, changed, err);
  }
  return { kind: 'consumer', name, outcome: 'updated', changed };
}

type BucketSettings = ReturnType<typeof bucketSettings>[number];

/** The stream behind an object store bucket. */
export function bucketStreamName(bucket: string): string {
  return `OBJ_${bucket}`;
}

/** Creates the object store bucket if missing; updates its description and age limit. */
export async function ensureObjectBucket(
  jsm: JetStreamManager,
  settings: BucketSettings,
  replicas = 1,
): Promise<ProvisionResult> {
  const stream = bucketStreamName(settings.name);
  const current = await infoOrUndefined(() => jsm.streams.info(stream), JetStreamApiCodes.StreamNotFound);
  const desired = { description: settings.description, max_age: nanos(settings.maxAgeMs), num_replicas: replicas };
  if (!current) {
    try {
      await new Objm(jsm.jetstream()).create(settings.name, {
        description: settings.description,
        storage: StorageType.File,
        ttl: desired.max_age,
        replicas,
      });
    } catch (err) {
      throw new ProvisionError(`bucket ${settings.name}`, [], err);
    }
    return { kind: 'bucket', name: settings.name, outcome: 'created', changed: [] };
  }
  const changed = changedFields(desired, current.config);
  if (changed.length === 0) return { kind: 'bucket', name: settings.name, outcome: 'unchanged', changed };
  try {
    await jsm.streams.update(stream, pick(desired, changed));
  } catch (err) {
    throw new ProvisionError(`bucket ${settings.name}`, changed, err);
  }
  return { kind: 'bucket', name: settings.name, outcome: 'updated', changed };
}

/**
 * Provisions every stream, the scheduler's consumer, one dispatch consumer per pool and the
 * buckets of the namespace `names`. Safe to run at every start and from several replicas.
 */
export async function provision(
  jsm: JetStreamManager,
  names: Names,
  opts: ProvisionOptions = {},
): Promise<readonly ProvisionResult[]> {
  const replicas = opts.replicas ?? 1;
  const results: ProvisionResult[] = [];
  for (const stream of streamSettings(names)) results.push(await ensureStream(jsm, stream, replicas));
  const consumers = [schedulerConsumer(names), ...(opts.pools ?? [DEFAULT_POOL]).map((p) => dispatchConsumer(names, p))];
  for (const consumer of consumers) results.push(await ensureConsumer(jsm, consumer));
  for (const bucket of bucketSettings(names)) results.push(await ensureObjectBucket(jsm, bucket, replicas));
  for (const r of results) {
    if (r.outcome !== 'unchanged') opts.logger?.info({ resource: r }, `nats ${r.kind} ${r.outcome}`);
  }
  return results;
}

/** The streams of a namespace, including the streams behind its buckets. */
export function namespaceStreams(names: Names): readonly string[] {
  return [
    ...streamSettings(names).map((s) => s.name),
    ...bucketSettings(names).map((b) => bucketStreamName(b.name)),
  ];
}

/**
 * Deletes every stream and bucket of a namespace, with their consumers and messages; for tests
 * and for tearing down a deployment, never called by a service. Returns the streams deleted.
 */
export async function deleteNamespace(jsm: JetStreamManager, names: Names): Promise<readonly string[]> {
  const deleted: string[] = [];
  for (const stream of namespaceStreams(names)) {
    try {
      await jsm.streams.delete(stream);
      deleted.push(stream);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
  }
  return deleted;
}
