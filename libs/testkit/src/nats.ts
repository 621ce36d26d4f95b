/**
 * A NATS namespace per test file: every stream, consumer, subject and bucket of the test lives
 * under a random namespace (`t` + hex), so test files share the real NATS server without
 * touching each other. `cleanup()` deletes the namespace and fails the test file if it left an
 * ephemeral consumer behind (a consumer nobody stopped is a leak in the code under test).
 */
import { randomBytes } from 'node:crypto';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { names as namesOf, type Names } from '@gantry/contracts';
import {
  connectNats,
  createLogger,
  deleteNamespace,
  loadConfig,
  namespaceStreams,
  provision,
  type Logger,
  type ProvisionOptions,
} from '@gantry/runtime';

/** A test file's own namespace on the real NATS server. */
export interface TestNamespace {
  /** `t` followed by 12 lower-case hex digits. */
  readonly namespace: string;
  readonly names: Names;
  /** A connection made with `connectNats`, closed by {@link cleanup}. */
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /**
   * Deletes the namespace's streams and buckets and closes the connection; then throws if an
   * ephemeral consumer was left on any of them. Idempotent.
   */
  cleanup(): Promise<void>;
}

/** Options of {@link createTestNamespace}. */
export interface TestNamespaceOptions {
  /** Provision the namespace's streams, consumers and buckets first (with these options). */
  readonly provision?: boolean | ProvisionOptions;
  /** Logger of the connection; default silent. */
  readonly logger?: Logger;
}

/** A fresh namespace name: `t` + 12 random lower-case hex digits. */
export function randomNamespace(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

async function consumersOf(jsm: JetStreamManager, stream: string): Promise<ConsumerInfo[]> {
  try {
    const all: ConsumerInfo[] = [];
    for await (const ci of jsm.consumers.list(stream)) all.push(ci);
    return all;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return [];
    throw err;
  }
}

async function ephemeralConsumers(jsm: JetStreamManager, names: Names): Promise<string[]> {
  const found: string[] = [];
  for (const stream of namespaceStreams(names)) {
    for (const ci of await consumersOf(jsm, stream)) {
      if (!ci.config.durable_name) found.push(`${stream}/${ci.name}`);
    }
  }
  return found;
}

/** Opens a connection and a fresh namespace; call `cleanup()` in `afterAll`. */
export async function createTestNamespace(opts: TestNamespaceOptions = {}): Promise<TestNamespace> {
  const namespace = randomNamespace();
  const names = namesOf(namespace);
  const config = loadConfig();
  const logger = opts.logger ?? createLogger({ service: 'testkit', version: '0.0.0', level: 'silent' });
  const nc = await connectNats(config, { name: `test-${namespace}`, logger });
  const jsm = await jetstreamManager(nc);
  if (opts.provision) {
    await provision(jsm, names, opts.provision === true ? {} : opts.provision);
  }
  let cleaned: Promise<void> | undefined;
  const cleanup = async () => {
    let leaked: string[] = [];
    try {
      leaked = await ephemeralConsumers(jsm, names);
      await deleteNamespace(jsm, names);
    } finally {
      await nc.close();
    }
    if (leaked.length > 0) {
      throw new Error(`ephemeral consumers left in namespace ${namespace}: ${leaked.join(', ')}`);
    }
  };
  return {
    namespace,
    names,
    nc,
    jsm,
    cleanup: () => (cleaned ??= cleanup()),
  };
}
