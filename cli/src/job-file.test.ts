import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from './cli.js';
import { JobFileError, parseJobText } from './job-file.js';
import { recordingIo } from './testing.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function issuesOf(text: string, file = 'job.yaml'): string[] {
  try {
    parseJobText(text, file);
  } catch (err) {
    if (err instanceof JobFileError) return err.message.split('\n').slice(1).map((l) => l.trim());
    throw err;
  }
  return [];
}

describe('job files', () => {
  it('places each schema problem at its line and column: the value, the unknown key, or the map missing a field', () => {
    const text = [
      'type: build', //              1
      'priority: 500', //            2
      'steps:', //                   3
      '  - name: compile', //        4
      '    phase: EXECUTION', //     5
      '    type: COMMAND', //        6
      '    spec:', //                7
      '      argv: [make, 1]', //    8
      '      colour: blue', //       9
      '  - phase: LATER', //         10
      '    type: NOOP', //           11
    ].join('\n');
    expect(issuesOf(text)).toEqual([
      'job.yaml:2:11: priority: Too big: expected number to be <=100',
      'job.yaml:8:20: steps.0.spec.argv.1: Invalid input: expected string, received number',
      'job.yaml:9:7: steps.0.spec.colour: unknown field',
      'job.yaml:10:5: steps.1.name: required field is missing (expected string)',
      expect.stringMatching(/^job\.yaml:10:12: steps\.1\.phase: Invalid option/),
    ]);
  });

  it('reports YAML syntax errors and JSON files the same way', () => {
    expect(issuesOf('type: x\nsteps: [\n')[0]).toMatch(/^job\.yaml:3:1: /);
    expect(issuesOf('{"type": "x",\n "steps": [{"name": "a", "phase": "SETUP", "type": "NOOP"}],\n "priority": "high"}', 'job.json')).toEqual([
      'job.json:3:14: priority: Invalid input: expected number, received string',
    ]);
    expect(issuesOf('')).toEqual(['job.yaml: the file is empty: a job is a mapping with type and steps']);
    expect(issuesOf('type: a\ntype: b\nsteps: []')[0]).toMatch(/^job\.yaml:2:1: .*unique/i);
  });

  it('accepts a valid job as written, defaults left to the server', () => {
    expect(parseJobText('type: t\nsteps:\n  - {name: a, phase: SETUP, type: NOOP}\n', 'ok.yaml')).toEqual({
      type: 't',
      steps: [{ name: 'a', phase: 'SETUP', type: 'NOOP' }],
    });
  });

  it('submit refuses a bad file with exit code 2 before reading any API configuration', async () => {
    const io = recordingIo({ GANTRY_URL: 'not a url' });
    expect(await runCli(['submit', `${EXAMPLES}../cli/package.json`], io)).toBe(EXIT.usage);
    expect(io.stderr.join('\n')).toMatch(/package\.json:1:1: steps: required field is missing/);
    expect(io.stdout).toEqual([]);
  });

  it('every example validates through `submit --dry-run`', async () => {
    const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.sort()).toEqual(['ai-review.yaml', 'artifact.json', 'build-and-test.yaml']);
    for (const file of files) {
      const io = recordingIo({});
      expect(await runCli(['submit', `${EXAMPLES}${file}`, '--dry-run'], io), io.stderr.join('\n')).toBe(EXIT.ok);
      expect(JSON.parse(io.stdout[0]!)).toHaveProperty('steps');
    }
  });
});
