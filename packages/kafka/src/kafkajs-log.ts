/**
 * Where kafkajs's own log lines go, and at which level: into the app's logger (as
 * `component: kafkajs`), or to stderr when there is none. Not exported by index.ts: the rest
 * of ledgerline never sees kafkajs's log types.
 */
import { type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from '@ledgerline/logging';
import { REJOIN_ANSWERS } from './group-rejoin';

/** kafkajs's `logCreator` for a client whose lines go to `logger` (stderr when not given). */
export function kafkajsLogCreator(logger: Logger | undefined): () => (entry: LogEntry) => void {
  return () => (entry) => (logger ? toLogger(logger, entry) : toStderr(entry));
}

/**
 * The messages of the broker's error answers that kafkajs handles by itself: the ones its
 * error table marks retriable (a leader election, a coordinator loading or moving) and the
 * rejoins above. From kafkajs's own table (an internal module of the pinned 2.2.4, like
 * idle-timer-fix.ts), so the messages are exactly the ones it logs.
 */
const ROUTINE_ANSWERS: ReadonlySet<string> = new Set(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('kafkajs/src/protocol/error') as { errorCodes: { type: string; retriable: boolean; message: string }[] }).errorCodes
    .filter((e) => e.retriable || REJOIN_ANSWERS.includes(e.type))
    .map((e) => e.message),
);

/**
 * The level a kafkajs line is logged at. kafkajs's connection logs every error answer from a
 * broker at ERROR (`Response Heartbeat(...)`, with the answer's message as `error`) before the
 * client retries or rejoins; a worker joining or leaving the group makes the others' next
 * heartbeat answer "the group is rebalancing". Those answers are routine and handled, so they
 * are warnings; what the client gives up on still reaches the apps as an error of their own.
 */
export function kafkajsLineLevel({ namespace, level, log }: Pick<LogEntry, 'namespace' | 'level' | 'log'>): logLevel {
  const answer = (log as { error?: unknown }).error;
  if (level === logLevel.ERROR && namespace === 'Connection' && typeof answer === 'string' && `${log.message ?? ''}`.startsWith('Response ') && ROUTINE_ANSWERS.has(answer)) {
    return logLevel.WARN;
  }
  return level;
}

function toLogger(logger: Logger, entry: LogEntry): void {
  const { namespace, log } = entry;
  const level = kafkajsLineLevel(entry);
  const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
  const line = `${message ?? ''}`;
  const bound = { namespace, ...fields };
  if (level <= logLevel.ERROR) logger.error(line, bound);
  else if (level === logLevel.WARN) logger.warn(line, bound);
  else if (level === logLevel.INFO) logger.info(line, bound);
  else logger.debug(line, bound);
}

function toStderr(entry: LogEntry): void {
  const { log } = entry;
  if (kafkajsLineLevel(entry) <= logLevel.ERROR) {
    const { message, error } = log as { message?: string; error?: string };
    process.stderr.write(`[kafkajs] ${message ?? ''} ${error ?? ''}\n`);
  }
}
