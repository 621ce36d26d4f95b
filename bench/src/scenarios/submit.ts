/**
 * submit: how many jobs per second the API accepts (answers 202 for, having committed them),
 * through `POST /runner-jobs` (one job per request, many concurrent clients) and through
 * `POST /runner-jobs/batch` (1,000 jobs per request, a few concurrent clients). The API runs as
 * its own process (as deployed) on a fresh database and namespace, with the rate limit off; the
 * jobs are NOOP jobs of `--steps` steps (3 by default, like the testkit's spec). Each figure counts from the first request to the
 * last answer; the scenario then checks PostgreSQL holds every accepted job and reports how
 * long the submit commands took to reach JetStream, and the API process's CPU per job (from /proc:
 * a figure that holds on a shared machine, where the rates depend on what else runs), with the
 * CPU PostgreSQL and nats-server spent during the batches (`batchCpuSeconds`). The API
 * logs at warn, so the per-request log line is not part of the figure. Target for /batch:
 * ≥ 20,000 jobs/s.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { createPool, mintToken } from '@gantry/store';
import { createTemplate, createTestDatabase, createTestNamespace, dropTemplate, freePort, jobSpec, startService } from '@gantry/testkit';
import { apiReady } from '../cluster.js';
import { cpuSince, cpuSnapshot } from '../cpu.js';
import { profilingArgs } from '../profile.js';
import type { Scenario } from '../scenario.js';

interface Client {
  post(path: string, body: string): Promise<number>;
  close(): void;
}

function client(base: string, token: string, sockets: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const url = new URL(base);
  return {
    post: (path, body) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path,
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** CPU seconds (user + system) process `pid` has used, from /proc; undefined where there is none. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

/** Microseconds of API CPU per job between two readings. */
function cpuPerJob(before: number | undefined, after: number | undefined, jobs: number): number | null {
  return before === undefined || after === undefined ? null : Math.round(((after - before) * 1e6) / jobs);
}

/** Runs `total` units of work on `concurrency` workers; returns seconds elapsed. */
async function drive(total: number, concurrency: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await work(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

export const submit: Scenario = {
  name: 'submit',
  description: 'jobs/s accepted by POST /runner-jobs and /batch (--single N, --clients C, --batches N, --batch-clients C, --steps S)',
  async run(args) {
    const singleJobs = Number(args.get('single') ?? 20_000);
    const clients = Number(args.get('clients') ?? 64);
    const batches = Number(args.get('batches') ?? 200);
    const batchClients = Number(args.get('batch-clients') ?? 4);
    const stepsPerJob = Number(args.get('steps') ?? 3);
    const batchSize = 1_000;
    // Everything made is torn down in reverse, whichever step failed.
    const teardown: (() => Promise<unknown>)[] = [];
    try {
      const template = await createTemplate();
      teardown.unshift(() => dropTemplate(template));
      const db = await createTestDatabase(template);
      teardown.unshift(() => db.drop());
      const ns = await createTestNamespace({ provision: true });
      teardown.unshift(() => ns.cleanup());
      const pool = createPool(db.url, { max: 2, applicationName: 'bench-submit' });
      teardown.unshift(() => pool.end());
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const api = startService('api', {
        DATABASE_URL: db.url,
        GANTRY_NAMESPACE: ns.namespace,
        PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_SECOND: '0',
        DB_POOL_SIZE: '16',
        PUBLISH_BACKLOG: String(10_000_000),
      }, { nodeArgs: profilingArgs('api') });
      teardown.unshift(() => api.stop('SIGTERM'));
      const { rows } = await pool.query<{ id: string }>(`INSERT INTO workspaces (name) VALUES ('bench') RETURNING id`);
      const minted = mintToken();
      await pool.query(`INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, scopes) VALUES ($1, 'bench', $2, $3, '{jobs:write}')`, [
        rows[0]!.id,
        minted.hash,
        minted.prefix,
      ]);
      await apiReady(base);
      const job = JSON.stringify(
        jobSpec({ steps: Array.from({ length: stepsPerJob }, (_, i) => ({ name: `step-${i}`, phase: 'EXECUTION', type: 'NOOP' })) }),
      );

      const pid = api.child.pid;
      const cpu0 = cpuSeconds(pid);
      const single = client(base, minted.token, clients);
      const singleSeconds = await drive(singleJobs, clients, async () => {
        const status = await single.post('/runner-jobs', job);
        if (status !== 202) throw new Error(`POST /runner-jobs answered ${status}`);
      });
      single.close();
      const cpu1 = cpuSeconds(pid);

      const batchCpuBefore = cpuSnapshot();
      const batch = client(base, minted.token, batchClients);
      const body = `{"jobs":[${Array.from({ length: batchSize }, () => job).join(',')}]}`;
      const batchSeconds = await drive(batches, batchClients, async () => {
        const status = await batch.post('/runner-jobs/batch', body);
        if (status !== 202) throw new Error(`POST /runner-jobs/batch answered ${status}`);
      });
      const acceptedAt = performance.now();
      const cpu2 = cpuSeconds(pid);
      const batchCpu = cpuSince(batchCpuBefore, { api: pid });
      batch.close();

      const total = singleJobs + batches * batchSize;
      const { rows: count } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM runner_jobs');
      if (count[0]!.n !== total) throw new Error(`expected ${total} jobs in PostgreSQL, found ${count[0]!.n}`);
      const jsm = await jetstreamManager(ns.nc);
      // One submit command per request: each single POST, and each batch (its 1,000 ids).
      const commands = singleJobs + batches;
      let published = 0;
      for (let i = 0; i < 600 && published < commands; i++) {
        published = (await jsm.streams.info(ns.names.streams.commands)).state.messages;
        if (published < commands) await new Promise((r) => setTimeout(r, 100));
      }
      return {
        singleJobs,
        singleSeconds: Number(singleSeconds.toFixed(2)),
        singleJobsPerSecond: Math.round(singleJobs / singleSeconds),
        singleApiCpuMicrosPerJob: cpuPerJob(cpu0, cpu1, singleJobs),
        clients,
        batchJobs: batches * batchSize,
        batchSeconds: Number(batchSeconds.toFixed(2)),
        batchJobsPerSecond: Math.round((batches * batchSize) / batchSeconds),
        batchApiCpuMicrosPerJob: cpuPerJob(cpu1, cpu2, batches * batchSize),
        batchCpuSeconds: batchCpu,
        batchClients,
        stepsPerJob,
        commandsPublished: published,
        commandsLagSeconds: Number(((performance.now() - acceptedAt) / 1000).toFixed(2)),
        cores: cpus().length,
      };
    } finally {
      for (const step of teardown) await step().catch(() => undefined);
    }
  },
};
