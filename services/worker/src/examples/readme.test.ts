import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

describe('the README', () => {
  it('shows the tested custom step type example verbatim', async () => {
    const readme = await readFile(new URL('../../../../README.md', import.meta.url), 'utf8');
    const example = await readFile(new URL('./word-count.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });
});
