/**
 * The image's build step (`RUN npx tsx deploy/image/build.ts dist` in deploy/Dockerfile):
 * bundles Gantry's own TypeScript — the entrypoint, the services, the libraries, the CLI — into
 * ES modules under the output directory, one chunk per command plus shared chunks. Third-party
 * packages stay external: the runtime stage installs them from the lockfile with
 * `npm ci --omit=dev`, so the image runs exactly the locked versions and no TypeScript toolchain.
 *
 * The output directory is relative to the working directory. Prints the bundle's size and the
 * packages it imports.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** Where the bundle goes (relative to the repository root), from the first argument. */
const outdir = process.argv[2] ?? 'dist';

/**
 * Packages bundled although third-party: those only the CLI imports (the runtime stage installs
 * the services' production dependencies, not the CLI's), pure JavaScript without dependencies.
 */
const BUNDLED_THIRD_PARTY = new Set(['yaml']);

/** Bare imports of Gantry's own packages (and the few above) are bundled; every other bare import stays external. */
const externalThirdParty: Plugin = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'entry-point' || args.path.startsWith('@gantry/') || BUNDLED_THIRD_PARTY.has(packageOf(args.path))
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

/** The package an import specifier names: `@scope/name` or `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { gantry: fileURLToPath(new URL('./entrypoint.ts', import.meta.url)) },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  // Bundled CommonJS (yaml) requires Node's built-ins; ESM output needs a `require` for that.
  banner: { js: "import { createRequire as __gantryRequire } from 'node:module'; const require = __gantryRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
  plugins: [externalThirdParty],
});

// The API's web console is static files it reads at start-up, beside the bundle.
cpSync(fileURLToPath(new URL('../../services/api/console', import.meta.url)), join(outdir, 'console'), { recursive: true });

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
const packages = new Set(
  outputs.flatMap(([, o]) => o.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => packageOf(i.path))),
);
process.stdout.write(`bundled ${outputs.length} modules (${Math.round(bytes / 1024)} KiB) into ${outdir}/\n`);
process.stdout.write(`external packages: ${[...packages].sort().join(', ')}\n`);
