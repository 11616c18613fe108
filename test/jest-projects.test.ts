// Every test file in the repository runs in exactly one of jest.config.js's projects: a file
// that neither project's testMatch reads is not run by `npm test`, and nothing says so (an
// outside review found test/'s unit tests read only from three named subfolders). Asked of
// Jest itself (--listTests), so the check reads the globs as Jest does.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
/** Where no test of the project's lives: installed packages, build output, Git's own files. */
const NOT_SOURCES = new Set(['node_modules', 'dist', '.git']);

/** Every file under `dir` named like a test (for Jest's defaults or ours), relative to ROOT. */
function testFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return NOT_SOURCES.has(entry.name) ? [] : testFilesUnder(path);
    return /\.(test|spec)\.[cm]?[jt]sx?$/.test(entry.name) ? [relative(ROOT, path)] : [];
  });
}

/** The files Jest runs in `project`, relative to ROOT. */
function listedBy(project: 'unit' | 'integration'): string[] {
  const run = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--selectProjects', project, '--listTests'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`jest --listTests (${project}) exited ${run.status}: ${run.stderr}`);
  // Its paths are absolute; other lines ("Running one project: unit") are not.
  return run.stdout.split('\n').map((line) => line.trim()).filter((line) => isAbsolute(line)).map((path) => relative(ROOT, path));
}

test('every test file runs in exactly one Jest project', () => {
  const unit = listedBy('unit');
  const integration = listedBy('integration');
  const projectsOf = (file: string) => [unit.includes(file) ? 'unit' : null, integration.includes(file) ? 'integration' : null].filter((p) => p !== null);
  const files = testFilesUnder(ROOT);
  expect(files).toContain(relative(ROOT, __filename));
  expect(files.map((file) => ({ file, projects: projectsOf(file) })).filter(({ projects }) => projects.length !== 1)).toEqual([]);
  // The unit project runs no *.int.test.ts file, the integration project nothing else.
  expect(unit.filter((file) => file.endsWith('.int.test.ts'))).toEqual([]);
  expect(integration.filter((file) => !file.endsWith('.int.test.ts'))).toEqual([]);
}, 60_000); // two runs of Jest itself
