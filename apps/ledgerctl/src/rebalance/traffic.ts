/**
 * Per-bucket traffic as `routing show` and `rebalance` print it: a rate per minute over the
 * time the counted transfers actually cover, and a word when that is less than the window.
 */
import type { BucketTraffic } from '@ledgerline/postgres';

export interface TrafficView {
  /** Commands per minute for a count of `traffic`'s transfers. */
  perMinute(count: number): number;
  /** What the figures cover: "last 5 min", or "newest 200000 transfers, last 12.3 s". */
  span: string;
  /** A line for the operator when the window held more than was read ('' otherwise). */
  note: string;
}

export function trafficView(traffic: BucketTraffic, windowMs: number): TrafficView {
  const minutes = traffic.overMs / 60_000;
  const perMinute = (count: number) => count / minutes;
  if (!traffic.capped) return { perMinute, span: `last ${windowWords(windowMs)}`, note: '' };
  const seconds = (traffic.overMs / 1000).toFixed(1);
  return {
    perMinute,
    span: `newest ${traffic.rowsMax} transfers, last ${seconds} s`,
    note:
      `note: the last ${windowWords(windowMs)} held more than the ${traffic.rowsMax} transfers ledgerctl reads; ` +
      `the rates are over the newest ${traffic.rowsMax}, applied in the last ${seconds} s (older traffic in the window is not counted)\n`,
  };
}

/** CTL_TRAFFIC_WINDOW_MS in words: "5 min", "90 s". */
function windowWords(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}
