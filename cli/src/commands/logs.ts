/**
 * `gantry logs ID`: a job's record — each event as a line, and its commands' output as whole
 * lines prefixed by the step (`[build] …`, `[build!] …` for stderr) — read page by page from
 * `GET /runner-jobs/:id/events`. `--follow` then streams what comes next until the job ends;
 * `--json` prints the events as JSON lines; `--output` prints only the commands' output.
 */
import { Limits, type JobEvent } from '@gantry/contracts';
import { expectPositionals, intFlag } from '../args.js';
import { API_FLAGS, apiClient, jobPath, type ApiClient } from '../api/client.js';
import { jobEvents } from '../api/event-stream.js';
import type { EventPageView, JobView } from '../api/views.js';
import type { CliIo } from '../io.js';
import { describeEvent, formatOutputLine, OutputLines, timedLine } from '../render/events.js';
import type { Command } from './command.js';

/** Prints events as log lines (or JSON lines). */
function printer(job: JobView, io: CliIo, opts: { json: boolean; outputOnly: boolean }) {
  const names = new Map(job.steps.map((s) => [s.id, s.name]));
  const output = new OutputLines(names);
  return {
    print(event: JobEvent) {
      if (opts.json) return io.out(JSON.stringify(event));
      for (const line of output.push(event)) io.out(formatOutputLine(line));
      if (event.type === 'step.completed' || event.type === 'step.failed') for (const line of output.flush(event.stepId)) io.out(formatOutputLine(line));
      const text = opts.outputOnly ? null : describeEvent(event, names);
      if (text !== null) io.out(timedLine(event, text));
    },
    finish() {
      if (!opts.json) for (const line of output.flush()) io.out(formatOutputLine(line));
    },
  };
}

async function pages(client: ApiClient, id: string, after: number, each: (e: JobEvent) => void): Promise<number> {
  let cursor = after;
  for (;;) {
    const page = await client.get<EventPageView>(jobPath(id, 'events'), { after: cursor, limit: Limits.maxPageSize });
    for (const event of page.items) {
      each(event);
      cursor = event.sequence;
    }
    if (page.nextAfter === null) return cursor;
    cursor = page.nextAfter;
  }
}

export const logs: Command = {
  words: ['logs'],
  usage: 'logs ID [--follow] [--output] [--after SEQ] [--json]',
  summary: 'Print a job’s events and its commands’ output; --follow streams until the job ends.',
  help: `  --follow      after what is recorded, stream new events until the job ends
  --output      only the commands' output lines
  --after SEQ   start after event sequence SEQ
  --json        the events as JSON lines`,
  flags: { ...API_FLAGS, follow: 'switch', output: 'switch', after: 'value', json: 'switch' },
  async run(args, io) {
    const [id] = expectPositionals(args, ['ID']);
    const client = apiClient(args, io);
    const job = await client.get<JobView>(jobPath(id!));
    const out = printer(job, io, { json: args.switches.has('json'), outputOnly: args.switches.has('output') });
    let last = await pages(client, job.id, intFlag(args, 'after', 0, 2 ** 31 - 1) ?? 0, (e) => out.print(e));
    if (args.switches.has('follow')) {
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once('SIGINT', onSigint);
      try {
        const events = jobEvents({ client, jobId: job.id, after: last, signal: stop.signal, onReconnect: (why, seq) => io.err(`connection lost (${why}); resuming after event ${seq}`) });
        for await (const event of events) {
          out.print(event);
          last = event.sequence;
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    out.finish();
    return 0;
  },
};
