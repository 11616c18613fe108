/**
 * Where kafkajs's own log lines go, and at which level: into the app's logger (as
 * `component: kafkajs`), or to stderr when there is none. Not exported by index.ts: the rest
 * of ledgerline never sees kafkajs's log types.
 */
import { type LogEntry, logLevel } from 'kafkajs';
import { type FoldedLine, type Logger, RepeatFilter } from '@ledgerline/logging';
import { REJOIN_ANSWERS } from './group-rejoin';

/**
 * How long a warning or error of one kind is folded after its first line (repeats.ts): kafkajs
 * logs each retry, ~2 lines a second per process while a broker is unreachable.
 */
export const KAFKAJS_REPEATS_WINDOW_MS = 30_000;

/** kafkajs's `logCreator`, and `flush()`: writes the counts its folding holds (RepeatFilter.flush), at exit. */
type KafkajsLogCreator = (() => (entry: LogEntry) => void) & { flush(): void };

/**
 * kafkajs's `logCreator` for a client whose lines go to `logger` (stderr when not given).
 * Warnings and errors of one kind (level, message, error text) are folded per window; other
 * levels are written as they come.
 */
export function kafkajsLogCreator(logger: Logger | undefined, windowMs = KAFKAJS_REPEATS_WINDOW_MS): KafkajsLogCreator {
  // kafkajs calls the creator once per client; each call folds on its own.
  const filters: RepeatFilter<LogEntry>[] = [];
  const create = () => {
    const write = (entry: LogEntry, folded: number, lastAt?: number) => {
      const note = foldedNote(folded, windowMs);
      return logger ? toLogger(logger, entry, folded, note, lastAt) : toStderr(entry, note);
    };
    const repeats = new RepeatFilter<LogEntry>({ windowMs }, ({ line, folded, lastAt }: FoldedLine<LogEntry>) => write(line, folded, lastAt));
    filters.push(repeats);
    return (entry: LogEntry) => {
      const level = kafkajsLineLevel(entry);
      if (level > logLevel.WARN) return write(entry, 0);
      const { message, error } = entry.log as { message?: unknown; error?: unknown };
      // A kind is its first 200 characters of each: the filter holds at most 1,000 kinds.
      repeats.offer(`${level}|${entry.namespace}|${String(message).slice(0, 200)}|${String(error).slice(0, 200)}`, entry);
    };
  };
  return Object.assign(create, { flush: () => filters.forEach((filter) => filter.flush()) });
}

/** The words added to a line that stands for `folded` more of its kind. */
function foldedNote(folded: number, windowMs: number): string {
  return folded > 0 ? ` (${folded} more like this in the last ${windowMs / 1000} s)` : '';
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

function toLogger(logger: Logger, entry: LogEntry, folded: number, note: string, lastAt?: number): void {
  const { namespace, log } = entry;
  const level = kafkajsLineLevel(entry);
  const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
  const line = `${message ?? ''}${note}`;
  const bound = folded > 0 ? { namespace, ...fields, folded, last_at: lastAt === undefined ? undefined : new Date(lastAt).toISOString() } : { namespace, ...fields };
  if (level <= logLevel.ERROR) logger.error(line, bound);
  else if (level === logLevel.WARN) logger.warn(line, bound);
  else if (level === logLevel.INFO) logger.info(line, bound);
  else logger.debug(line, bound);
}

function toStderr(entry: LogEntry, note: string): void {
  const { log } = entry;
  if (kafkajsLineLevel(entry) <= logLevel.ERROR) {
    const { message, error } = log as { message?: string; error?: string };
    process.stderr.write(`[kafkajs] ${message ?? ''} ${error ?? ''}${note}\n`);
  }
}
