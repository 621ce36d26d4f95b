/**
 * `gantry submit FILE`: a job from a YAML or JSON file, validated here with the contracts'
 * schema (each problem reported at its line and column) before it is sent to
 * `POST /runner-jobs`. Prints the job id, or the stored job with `--json`; `--watch` then follows
 * it to its end and exits with its outcome; `--dry-run` only validates.
 */
import { expectPositionals } from '../args.js';
import { API_FLAGS, apiClient, apiErrorOf } from '../api/client.js';
import type { JobView } from '../api/views.js';
import { followJob } from '../follow.js';
import { readJobFile } from '../job-file.js';
import type { Command } from './command.js';

export const submit: Command = {
  words: ['submit'],
  usage: 'submit FILE [--watch] [--json] [--dry-run] [--idempotency-key KEY]',
  summary: 'Validate a job file (YAML or JSON, the body of POST /runner-jobs) and submit it; prints the job id.',
  help: `The file is checked against the job schema first; each problem is printed with its line and
column (exit code 2) and nothing is sent.

  --watch                 follow the job like \`gantry watch\` and exit with its outcome
  --json                  print the job as stored (with --watch: then its events as JSON lines)
  --dry-run               only validate; print the job as it would be sent
  --idempotency-key KEY   submit at most once per KEY (the Idempotency-Key header)
  --url URL, --token T    the API and token (default GANTRY_URL, GANTRY_TOKEN)`,
  flags: { ...API_FLAGS, watch: 'switch', json: 'switch', 'dry-run': 'switch', 'idempotency-key': 'value' },
  async run(args, io) {
    const [file] = expectPositionals(args, ['FILE']);
    const spec = await readJobFile(file!);
    if (args.switches.has('dry-run')) {
      io.out(JSON.stringify(spec));
      io.err(`${file} is a valid job (${spec.steps.length} steps); nothing was submitted`);
      return 0;
    }
    const client = apiClient(args, io);
    const key = args.values.get('idempotency-key');
    const res = await client.fetch('/runner-jobs', { method: 'POST', body: spec, headers: key === undefined ? {} : { 'idempotency-key': key } });
    if (!res.ok) throw await apiErrorOf(res);
    const job = (await res.json()) as JobView;
    const replayed = res.headers.get('idempotent-replayed') === 'true';
    if (args.switches.has('json')) io.out(JSON.stringify(job));
    else io.out(job.id);
    io.err(`${replayed ? 'already submitted' : 'submitted'} job ${job.id} (${job.type}, ${job.steps.length} steps, priority ${job.priority})`);
    if (!args.switches.has('watch')) return 0;
    return followJob(client, job.id, io, { mode: args.switches.has('json') ? 'json' : 'view', job });
  },
};
