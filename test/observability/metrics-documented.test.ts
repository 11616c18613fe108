// docs/metrics.md lists every metric the API and the workers export, with its type and labels
// (an outside docs audit: 18 of 41 were named in no document). The table is read back here and
// compared, both ways, with the registries the processes build: a metric added, renamed,
// retyped or relabelled without its row fails this test, and so does a row for nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiMetrics } from '../../apps/ingest-api/src/metrics';
import { createWorkerMetrics } from '../../apps/partition-worker/src/metrics';

interface Described {
  name: string;
  labelNames?: readonly string[];
  constructor: { name: string };
}

function exported(): string[] {
  const rows: string[] = [];
  for (const [process, metrics] of [
    ['ingest-api', createApiMetrics({ defaultMetrics: false })],
    ['partition-worker', createWorkerMetrics({ defaultMetrics: false })],
  ] as const) {
    for (const metric of metrics.registry.getMetricsAsArray() as unknown as Described[]) {
      const labels = (metric.labelNames ?? []).map((label) => `\`${label}\``).join(', ') || '-';
      rows.push(`\`${metric.name}\` | ${process} | ${metric.constructor.name.toLowerCase()} | ${labels}`);
    }
  }
  return rows.sort();
}

function documented(): string[] {
  const text = readFileSync(join(__dirname, '../../docs/metrics.md'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `ledger_'))
    .map((line) => line.slice(2).split(' | ').slice(0, 4).join(' | '))
    .sort();
}

test('docs/metrics.md has one row per exported metric, with its process, type and labels, and no other', () => {
  expect(documented()).toEqual(exported());
  expect(exported().length).toBeGreaterThan(30); // read, not vacuous
});
