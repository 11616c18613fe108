/**
 * The installed kafkajs's version: what the replacements of its internals (idle-timer-fix.ts,
 * produce-encoding.ts, message-grouping.ts) check before they install. Reads its package.json
 * only, so it loads nothing of kafkajs (message-grouping.ts must run before kafkajs loads).
 */
export function kafkajsVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs's package.json, not a module.
  return (require('kafkajs/package.json') as { version: string }).version;
}
