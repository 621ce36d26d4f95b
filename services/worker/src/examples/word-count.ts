// A custom step type: counts the words of a file in the job directory.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineStepType, UnrecoverableError } from '@gantry/worker';

export const wordCount = defineStepType({
  type: 'WORD_COUNT',
  spec: z.object({ path: z.string().min(1), minWords: z.number().int().min(0).default(0) }),
  async run({ spec, workDir, signal }) {
    // resolve() refuses a path that leads outside the job directory.
    const text = await readFile(await workDir.resolve(spec.path), { encoding: 'utf8', signal });
    const words = text.split(/\s+/).filter(Boolean).length;
    if (words < spec.minWords) {
      throw new UnrecoverableError(`${words} words, fewer than ${spec.minWords}`, 'TOO_SHORT');
    }
    return { output: { words } };
  },
});
