// `npm run build`: compiles each app (TypeScript, with the workspace packages it imports) to
// one JavaScript file, dist/<app>/main.js, for `node` to run without tsx. Third-party
// packages stay external: they are loaded from node_modules (`npm ci --omit=dev` in the
// image). Type checking is `npm run typecheck`'s job; this only emits.
//
// Files the code reads beside itself are copied next to the bundle: the Redis Lua scripts
// (read from <dir of main.js>/lua) and the migrations (read from <dir of main.js>/../migrations).
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const APPS = ['ingest-api', 'partition-worker', 'ledgerctl'];

/** Bundle our own workspace packages (TypeScript sources); leave every other package to node_modules. */
const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@ledgerline/') ? undefined : { path: args.path, external: true }));
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
