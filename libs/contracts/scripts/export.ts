/**
 * Writes the contract documents into `docs/contracts/` at the repository root, or with
 * `--check` compares them with what is there and exits 1 listing every file that is missing,
 * differs, or is no longer generated. Run through `npm run contracts:export [-- --check]`.
 *
 * The directory is generated as a whole: writing removes files the generator no longer makes.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GeneratedFile, generateContractDocs } from './generate.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT_DIR = join(REPO_ROOT, 'docs', 'contracts');

/** Files under `dir`, as `/`-separated paths relative to it; none when it does not exist. */
function filesUnder(dir: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .flatMap((e) =>
      e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : e.isFile() ? [`${prefix}${e.name}`] : [],
    )
    .sort();
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

interface Drift {
  readonly missing: string[];
  readonly differs: string[];
  readonly stale: string[];
}

function drift(files: readonly GeneratedFile[], dir: string): Drift {
  const expected = new Set(files.map((f) => f.path));
  const missing: string[] = [];
  const differs: string[] = [];
  for (const file of files) {
    const current = readOrNull(join(dir, file.path));
    if (current === null) missing.push(file.path);
    else if (current !== file.content) differs.push(file.path);
  }
  const stale = filesUnder(dir).filter((p) => !expected.has(p));
  return { missing, differs, stale };
}

function removeEmptyDirs(dir: string): void {
  const subdirs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  for (const sub of subdirs) removeEmptyDirs(join(dir, sub.name));
  if (dir !== OUT_DIR && readdirSync(dir).length === 0) rmdirSync(dir);
}

function write(files: readonly GeneratedFile[], dir: string): void {
  const { missing, differs, stale } = drift(files, dir);
  const changed = new Set([...missing, ...differs]);
  for (const file of files) {
    if (!changed.has(file.path)) continue;
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
  for (const path of stale) rmSync(join(dir, path));
  if (stale.length > 0) removeEmptyDirs(dir);
  const where = relative(REPO_ROOT, dir);
  console.log(`${where}: ${files.length} files, ${changed.size} written, ${stale.length} removed`);
}

function check(files: readonly GeneratedFile[], dir: string): boolean {
  const { missing, differs, stale } = drift(files, dir);
  const where = relative(REPO_ROOT, dir);
  const lines = [
    ...missing.map((p) => `missing: ${where}/${p}`),
    ...differs.map((p) => `differs: ${where}/${p}`),
    ...stale.map((p) => `stale:   ${where}/${p}`),
  ];
  if (lines.length === 0) {
    console.log(`${where}: ${files.length} files up to date`);
    return true;
  }
  console.error(lines.join('\n'));
  console.error(`${where} is out of date with libs/contracts; run: npm run contracts:export`);
  return false;
}

function main(args: readonly string[]): number {
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}; usage: export.ts [--check]`);
    return 2;
  }
  const files = generateContractDocs();
  if (args.includes('--check')) return check(files, OUT_DIR) ? 0 : 1;
  write(files, OUT_DIR);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
