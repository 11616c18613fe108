/** The value of one sample line of Prometheus text, e.g. `name{partition="0"}`; null when the series is absent. */
export function sample(metrics: string, series: string): number | null {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}
