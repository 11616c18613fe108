// Proves the Grafana dashboard and the Prometheus scrape config agree with the code: every
// metric a panel queries is one the API or a worker registers (a renamed metric fails here,
// not on an operator's blank panel), and the scrape targets are the ports `npm start` uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiMetrics } from '../../apps/ingest-api/src/metrics';
import { createWorkerMetrics } from '../../apps/partition-worker/src/metrics';
import { localSettingsFrom } from '../../scripts/local-settings';

const DIR = join(__dirname, '..', '..', 'infra', 'observability');

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

async function registered(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metrics of [createApiMetrics({ defaultMetrics: false }), createWorkerMetrics({ defaultMetrics: false })]) {
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

describe('infra/observability', () => {
  test('every metric a dashboard panel queries is registered by the API or a worker', async () => {
    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana', 'ledgerline-dashboard.json'), 'utf8')) as { panels: Panel[] };
    const known = await registered();
    const queried = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/\bledger_[a-z_]+/g) ?? []));
    expect(queried.length).toBeGreaterThan(10);
    expect(queried.filter((name) => !known.has(name))).toEqual([]);
    // The panels the runbook names, each with at least one query.
    const titles = dashboard.panels.filter((p) => p.type !== 'row' && (p.targets ?? []).length > 0).map((p) => p.title);
    for (const title of ['Ingest rate', 'Ingest latency (POST)', 'Apply rate', 'Consumer lag per partition', 'Money in flight', 'Dead letters', 'Reconcile violations']) {
      expect(titles).toContain(title);
    }
  });

  test("every metric the README's signals table names is on the dashboard, as the README says", () => {
    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana', 'ledgerline-dashboard.json'), 'utf8')) as { panels: Panel[] };
    const queried = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/\bledger_[a-z_]+/g) ?? [])));
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| signal | what it means | what to do |'));
    const signals = table.slice(0, table.indexOf('\n\n')).split('\n').map((row) => row.split(' | ')[1] ?? '');
    const named = [...new Set(signals.flatMap((cell) => cell.match(/\bledger_[a-z_]+/g) ?? []))];
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((name) => !queried.has(name))).toEqual([]);
  });

  test('the reconcile panel reads its gauges across workers: only the one holding partition 0 exports figures', () => {
    // The others export no violations and a last run of 0 (reconcile-schedule.ts): a query
    // of one worker's series would show nothing, or 0, whenever partition 0 is elsewhere. And
    // the last run is the newest over a day, not over the gauges now: when partition 0 moved to
    // a worker that does not reconcile (interval 0), the worker that did set its gauge to 0, and
    // `time() - max(gauge > 0)` went empty: the signal for "nobody runs it" could not fire.
    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana', 'ledgerline-dashboard.json'), 'utf8')) as { panels: Panel[] };
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).filter((expr) => expr.includes('ledger_reconcile_'));
    expect(queries).toEqual(['max by (check) (ledger_reconcile_violations)', 'time() - max(max_over_time(ledger_reconcile_last_run_timestamp_seconds[1d]) > 0)']);
    // The README's signal is the dashboard's query, word for word.
    expect(readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8')).toContain(`\`time() - max(max_over_time(ledger_reconcile_last_run_timestamp_seconds[1d]) > 0)\``);
  });

  test("the reconcile stat colours the seconds since the last run by their own thresholds, not the violations' red at 1", () => {
    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana', 'ledgerline-dashboard.json'), 'utf8')) as {
      panels: (Omit<Panel, 'targets'> & { targets?: { expr: string; refId: string }[]; fieldConfig: { overrides: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[] } })[];
    };
    const panel = dashboard.panels.find((p) => p.title === 'Reconcile violations')!;
    const age = panel.targets!.find((t) => t.expr.includes('ledger_reconcile_last_run_timestamp_seconds'))!;
    const override = panel.fieldConfig.overrides.find((o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === age.refId);
    expect(override?.properties.find((p) => p.id === 'unit')?.value).toBe('s');
    const steps = (override?.properties.find((p) => p.id === 'thresholds')?.value as { steps: { value: number | null }[] }).steps;
    expect(steps.at(-1)?.value).toBe(600);
  });

  test('the scrape config targets the API and the workers as npm start runs them', () => {
    const config = readFileSync(join(DIR, 'prometheus.yml'), 'utf8');
    const runLocal = readFileSync(join(__dirname, '..', '..', 'scripts', 'run-local.ts'), 'utf8');
    expect(config).toContain("'127.0.0.1:8080'");
    expect(runLocal).toContain('WORKER_OPS_PORT: String(opsPortBase + i)');
    expect(localSettingsFrom({}).opsPortBase).toBe(9100);
    expect(config).toContain("'127.0.0.1:9101', '127.0.0.1:9102'");
  });
});
