// `npm run build`: compiles each app (TypeScript, with the workspace packages it imports) to
// one JavaScript file, dist/<app>/main.js, for `node` to run without tsx. Third-party
// packages stay external: they are loaded from node_modules (`npm ci --omit=dev` in the
// image). Type checking is `npm run typecheck`'s job; this only emits.
//
// Files the code reads beside itself are copied next to the bundle: the Redis Lua scripts
// (read from <dir of main.js>/lua) and the migrations (read from <dir of main.js>/../migrations).
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const APPS = ['ingest-api', 'partition-worker', 'ledgerctl'];

/**
 * Bundle our own workspace packages (TypeScript sources); leave every other package to
 * node_modules. A bundle in dist/ resolves them from the ROOT node_modules, so a workspace
 * that npm gave a copy of its own (apps/x/node_modules/p: its range and the root's version
 * disagree) would silently run the root's other version: that fails the build instead.
 */
const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@ledgerline/') || args.path.startsWith('node:')) return undefined;
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      const workspace = /^(.*\/(?:apps|packages)\/[^/]+)(?:\/|$)/.exec(args.resolveDir)?.[1];
      if (workspace && existsSync(join(workspace, 'node_modules', name))) {
        return {
          errors: [
            {
              text: `${name}: ${workspace} has its own copy (its version range differs from the root's), but dist/ loads the root's. Align the ranges, or add ${name} to the root package.json's dependencies.`,
            },
          ],
        };
      }
      return { path: args.path, external: true };
    });
  },
};

rmSync(dist, { recursive: true, force: true });
await Promise.all(
  APPS.map((app) =>
    build({
      entryPoints: [join(root, 'apps', app, 'src', 'main.ts')],
      outfile: join(dist, app, 'main.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      // Stack traces name our functions, not a minifier's.
      minify: false,
      keepNames: true,
      logLevel: 'warning',
      plugins: [externalThirdParty],
    }),
  ),
);
for (const app of APPS) cpSync(join(root, 'packages', 'redis', 'src', 'lua'), join(dist, app, 'lua'), { recursive: true });
cpSync(join(root, 'packages', 'postgres', 'migrations'), join(dist, 'migrations'), { recursive: true });
process.stdout.write(`built ${APPS.map((a) => `dist/${a}/main.js`).join(', ')}\n`);
