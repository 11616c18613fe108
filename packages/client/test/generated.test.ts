// Proves the committed generated contract (packages/client/openapi.json and src/schema.ts)
// is what the ingest API's route table gives now: a route or schema changed without
// `npm run client:generate` fails here. Run through tsx in a child process because
// openapi-typescript's dependencies are ES modules, which Jest's CommonJS runtime cannot load.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('the generated client matches the route table', () => {
  const root = join(__dirname, '..', '..', '..');
  const run = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'apps', 'ingest-api', 'src', 'contract.ts'), '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
});
