// ledger_api_bucket_move_oldest_seconds reads Postgres at each scrape. When Postgres does not
// answer, the age is not known: the gauge says NaN, never the last value it read (a move from
// before the outage shown as standing now, or 0 while one died during it).
import { createApiMetrics } from '../src/metrics';

async function scraped(metrics: ReturnType<typeof createApiMetrics>): Promise<string | undefined> {
  const text = await metrics.registry.metrics();
  return /^ledger_api_bucket_move_oldest_seconds (\S+)$/m.exec(text)?.[1];
}

describe('ledger_api_bucket_move_oldest_seconds', () => {
  test('reads its source at each scrape; NaN while the source fails, the figure again once it answers', async () => {
    const metrics = createApiMetrics({ defaultMetrics: false });
    let answer: () => Promise<number> = async () => 42.5;
    metrics.readOldestOpenMoveFrom(() => answer());
    expect(await scraped(metrics)).toBe('42.5');
    answer = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6432');
    };
    // prom-client writes it `Nan`; Prometheus reads NaN in any case (Go's ParseFloat).
    expect(await scraped(metrics)).toMatch(/^nan$/i);
    answer = async () => 0;
    expect(await scraped(metrics)).toBe('0');
  });
});
