/** What ledgerline hands the Kafka port to publish, in its own terms (no client-library types). */
export interface OutgoingMessage {
  topic: string;
  /** Explicit partition (routing is ours); null lets the key's hash choose (events). */
  partition: number | null;
  key: string;
  /** Text, sent as UTF-8; or bytes as they are (a test's message that is no UTF-8 text). */
  value: string | Buffer;
  /**
   * Record headers (e.g. W3C `traceparent` when tracing is on, packages/tracing); omitted:
   * none. Plain strings here; the consumer hands them back as bytes (`headersOf`).
   */
  headers?: Readonly<Record<string, string>>;
}
