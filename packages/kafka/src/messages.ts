/** What ledgerline hands the Kafka port to publish, in its own terms (no client-library types). */
export interface OutgoingMessage {
  topic: string;
  /** Explicit partition (routing is ours); null lets the key's hash choose (events). */
  partition: number | null;
  key: string;
  value: string;
  /**
   * Record headers (e.g. W3C `traceparent` when tracing is on, packages/tracing); omitted:
   * none. Plain strings here; the consumer hands them back as bytes (`headersOf`).
   */
  headers?: Readonly<Record<string, string>>;
}
