/**
 * Run as its own process by `workdir.test.ts`, as a user that is not root (a worker that runs
 * job processes as itself): makes an attempt directory whose job left read-only directories in
 * it, as `go mod download` does, removes it, and prints whether it is gone.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { attemptDir } from '../workdir.js';

const [root] = process.argv.slice(2) as [string];
const dir = attemptDir(root, '00000000-0000-4000-8000-000000000001', 1);
const work = await dir.ensure();
await mkdir(join(work, 'mod/pkg/deep'), { recursive: true });
await writeFile(join(work, 'mod/pkg/deep/file'), 'x');
for (const d of ['mod/pkg/deep', 'mod/pkg', 'mod']) await chmod(join(work, d), 0o555);
let error: string | null = null;
try {
  await dir.remove();
} catch (err) {
  error = (err as Error).message;
}
process.stdout.write(`${JSON.stringify({ gone: !existsSync(join(root, '00000000-0000-4000-8000-000000000001.1')), error })}\n`);
