/**
 * The Logger port: structured, levelled lines with bound context (partition, epoch, request
 * id), and its one adapter, pino (JSON on stdout, one object per line).
 *
 * Code below the composition roots depends on the `Logger` interface only (or, where it
 * predates it, on a plain `log(message)` function: `lineLog` adapts a Logger to that), so
 * a test can pass `silentLogger` and the wiring decides where lines go.
 */
import { randomUUID } from 'node:crypto';
import pino, { type DestinationStream } from 'pino';
import pinoHttp from 'pino-http';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger whose every line carries `bindings` (e.g. `{ partition: 3, epoch: '7' }`). */
  child(bindings: LogFields): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** The process's role: `ingest-api`, `worker-1`, `ledgerctl`... (the `name` field). */
  name: string;
  level?: LogLevel;
  /** Where lines go; stdout by default (tests pass a stream they read). */
  destination?: DestinationStream;
}

/** A Logger backed by pino; `pino` is exposed for pino-http, which needs the real thing. */
export class PinoLogger implements Logger {
  constructor(readonly pino: pino.Logger) {}

  error(message: string, fields?: LogFields): void {
    if (fields) this.pino.error(fields, message);
    else this.pino.error(message);
  }

  warn(message: string, fields?: LogFields): void {
    if (fields) this.pino.warn(fields, message);
    else this.pino.warn(message);
  }

  info(message: string, fields?: LogFields): void {
    if (fields) this.pino.info(fields, message);
    else this.pino.info(message);
  }

  debug(message: string, fields?: LogFields): void {
    if (fields) this.pino.debug(fields, message);
    else this.pino.debug(message);
  }

  child(bindings: LogFields): Logger {
    return new PinoLogger(this.pino.child(bindings));
  }

  isLevelEnabled(level: LogLevel): boolean {
    return level !== 'silent' && this.pino.isLevelEnabled(level);
  }
}

export function createLogger(options: LoggerOptions): PinoLogger {
  const base = pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      // ISO time instead of epoch milliseconds: people read these lines too.
      timestamp: pino.stdTimeFunctions.isoTime,
      // The level as its name ("warn"), which every log shipper understands without a table.
      formatters: { level: (label) => ({ level: label }) },
      base: { pid: process.pid },
    },
    // Synchronous writes: a line logged right before process.exit or a SIGKILL (fault
    // injection) is not lost in a buffer. Request lines are debug, so the volume is small.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return new PinoLogger(base);
}

/** Discards everything (tests that do not look at logs). */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};

/**
 * Adapts a Logger to the `log(message)` functions older modules take. Those messages name
 * their partition as a `partition N: ` prefix; it becomes a `partition` field, so a
 * partition's lines can be filtered whichever module wrote them. Messages about failures
 * (they say "failed", "crashed", "FATAL") are warnings, the rest information.
 */
export function lineLog(logger: Logger): (message: string) => void {
  return (message) => {
    const match = /^partition (\d+): (.*)$/s.exec(message);
    const fields: LogFields | undefined = match ? { partition: Number(match[1]) } : undefined;
    const text = match ? match[2]! : message;
    const epoch = /\bepoch (\d+)/.exec(text);
    if (fields && epoch) fields.epoch = epoch[1];
    // A dead letter is an incident for an operator (a forged or malformed message, a command
    // that could not be written), never routine.
    if (/\b(FATAL|failed|crashed|not published|dead-lettered|isolated as UNPROCESSABLE)\b/i.test(text)) logger.warn(text, fields);
    else logger.info(text, fields);
  };
}

/**
 * pino-http for the API: one line per answered request with its id, method, route, status and
 * duration (and, for an error answer, the `code` the app put in `res.locals.errorCode`, and for
 * a 503 the failing dependency it put in `res.locals.errorDependency`), and
 * `req.log`, a child logger carrying the request id. It names who asked: the verified
 * principal the app put in `res.locals.principal` (a 403 or 404 is attributable), or for a
 * refused token the check that failed, from `res.locals.authRefusal` (never the token).
 * The id is the caller's
 * `X-Request-Id` when it is a short printable token, else a fresh UUID, and is echoed back.
 * No headers are logged (they hold bearer tokens). Successful requests log at debug: at
 * thousands of requests a second an info line each would cost more than the request.
 */
export function httpLogger(logger: Logger) {
  const base = logger instanceof PinoLogger ? logger.pino : pino({ level: 'silent' });
  return pinoHttp({
    logger: base,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // A 503 is an answer the API chose (a dependency down: the client retries after
    // Retry-After), not a failure of its own: warn. A bucket being moved is an operator's
    // planned step, watched by its own metrics (ledger_api_routing_buckets_held): info, or a
    // spread would write thousands of warnings. An exception or another 5xx: error.
    customLogLevel: (_req, res, error) => {
      if (error || (res.statusCode >= 500 && res.statusCode !== 503)) return 'error';
      if (res.statusCode === 503) return (res as { locals?: { errorCode?: string } }).locals?.errorCode === 'BUCKET_MOVING' ? 'info' : 'warn';
      return res.statusCode >= 400 ? 'info' : 'debug';
    },
    // pino-http puts a made-up Error ("failed with status code 503", with pino-http's own
    // stack) on a 5xx line that had no exception; the answer's error code says more.
    customErrorObject: (_req, res, error, fields: Record<string, unknown>) => {
      const answered = (res as { err?: unknown }).err === undefined && error.message === `failed with status code ${res.statusCode}`;
      if (!answered) return { ...fields, ...requester(res) };
      const { err: _synthetic, ...rest } = fields;
      const locals = (res as { locals?: { errorCode?: string; errorDependency?: string } }).locals;
      const answer = locals?.errorDependency === undefined ? { ...rest, code: locals?.errorCode } : { ...rest, code: locals.errorCode, dependency: locals.errorDependency };
      return { ...answer, ...requester(res) };
    },
    // A 4xx is a "success" to pino-http (no exception): its line gets the answer's code here.
    customSuccessObject: (_req, res, fields: Record<string, unknown>) => {
      const code = (res as { locals?: { errorCode?: string } }).locals?.errorCode;
      return { ...(code === undefined ? fields : { ...fields, code }), ...requester(res) };
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, ...loggedUrl(req.url) }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
/**
 * The most of a principal, or of a token's refusal, a request line shows: a principal is the
 * token's `sub`, up to 256 characters and checked control-free when the token was verified
 * (packages/auth principalProblem); the cut keeps a line bounded whatever the app puts there.
 */
export const LOGGED_PRINCIPAL_CHARS_MAX = 256;

/**
 * Who made the request, as its line says it: `principal` once a token was verified (an
 * access log that cannot say who read a balance or was refused a transfer attributes
 * nothing: an outside review), else `auth_refusal`, why the token was refused. Neither for a
 * request that carried no token to check (/healthz, a 404 outside /v1).
 */
function requester(res: unknown): { principal?: string; auth_refusal?: string } {
  const locals = (res as { locals?: { principal?: unknown; authRefusal?: unknown } }).locals;
  if (typeof locals?.principal === 'string') return { principal: locals.principal.slice(0, LOGGED_PRINCIPAL_CHARS_MAX) };
  if (typeof locals?.authRefusal === 'string') return { auth_refusal: locals.authRefusal.slice(0, LOGGED_PRINCIPAL_CHARS_MAX) };
  return {};
}

/** A request URL's first characters: a line per request, and the client writes the URL. */
export const LOGGED_URL_CHARS_MAX = 256;

/**
 * The URL a request line shows: whole when short, else its first LOGGED_URL_CHARS_MAX
 * characters and its length. A 15 KB query on a 401 wrote a 15 KB line, synchronously, with
 * no principal to rate-limit (an outside review).
 */
export function loggedUrl(url: string | undefined): { url?: string; url_length?: number } {
  if (url === undefined) return {};
  return url.length <= LOGGED_URL_CHARS_MAX ? { url } : { url: url.slice(0, LOGGED_URL_CHARS_MAX), url_length: url.length };
}

export { type FoldedLine, RepeatFilter, type RepeatFilterOptions } from './repeats';
