/**
 * Builds the express app from injected ports; no connection is opened here. runtime.ts
 * wires the real adapters; integration tests may call buildApp with their own database,
 * key prefix and topics.
 *
 * Request pipeline, in the order buildApp mounts it:
 *   [tracing on: the request's span (tracing.ts)] -> request id and log line (pino-http)
 *   -> metrics -> ambiguous framing refused (400, connection closed; framingProblem)
 *   -> in-flight cap (429; every path but /healthz) -> method guard (405 + Allow)
 *   -> [/v1] auth (401) -> batch admission (POST /v1/batch when saturated: 429)
 *   -> [/v1] per-principal rate limit (429 RATE_LIMITED) -> JSON only (415)
 *   -> declared Content-Length over the limit (413 before the body is read, connection
 *   closed) -> body read and parse (413/400; UTF-8 only, number literals scanned;
 *   POST /v1/batch has a limit of its own) -> inexact number literal (400) -> route
 *   (routes/index.ts, the one table the router and /openapi.json both read) -> 404 -> the
 *   one error handler (errors.ts)
 *
 * Routes match case-sensitively: `/V1/...` is a 404, never a path around a /v1 middleware.
 */
import { LongPollShares } from './long-poll-shares';
import type { Database } from '@ledgerline/postgres';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse as parseContentType } from 'content-type';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { type AuthContext, AuthError, AuthUnavailableError, TokenVerifier } from '@ledgerline/auth';
import type { IdempotencyClaims } from '@ledgerline/postgres';
import { topicNames } from '@ledgerline/kafka';
import { type Logger, httpLogger, silentLogger } from '@ledgerline/logging';
import { type Clock, systemClock } from '@ledgerline/domain';
import { CommandSeal, duplicateKey, shownKey } from '@ledgerline/schemas';
import { tracingEnabled } from '@ledgerline/tracing';
import { AccountDirectory } from './account-directory';
import { BatchAdmission } from './batch-admission';
import type { ApiConfig } from './config';
import type { AppContext } from './context';
import { ApiError, type ApiErrorCode, toHttpError, validationFailed } from './errors';
import { type ApiMetrics, createApiMetrics } from './metrics';
import { framingProblem, inexactNumberLiteral } from './http-input';
import { type RequestLimiter, createRequestLimiter } from './rate-limits';
import type { CommandPublisher, KafkaCheck, RedisPorts, RoutingProvider } from './ports';
import { mountMethodGuard, mountRoutes } from './route-table';
import { ROUTES } from './routes';
import { BATCH_PATH } from './routes/batch';
import { requestSpans } from './tracing';

export type * from './ports';

export interface AppDeps {
  config: ApiConfig;
  /** Through PgBouncer (transaction mode). */
  pool: Database;
  /** Group-commits the Idempotency-Key claims of money POSTs (built on `pool`). */
  claims: IdempotencyClaims;
  redis: RedisPorts;
  publisher: CommandPublisher;
  routing: RoutingProvider;
  /** Per-principal rates (Redis-backed in runtime.ts). Defaults to in-memory, this instance only. */
  limiter?: RequestLimiter;
  /** Readiness of Kafka; throws when not ready. Defaults to "always ready". */
  checkKafka?: KafkaCheck;
  clock?: Clock;
  metrics?: ApiMetrics;
  logger?: Logger;
}

export function buildApp(deps: AppDeps): Express {
  const { config } = deps;
  const logger = deps.logger ?? silentLogger;
  const log = (line: string) => logger.warn(line);
  const metrics = deps.metrics ?? createApiMetrics({ defaultMetrics: false });
  const ctx: AppContext = {
    config,
    pool: deps.pool,
    claims: deps.claims,
    redis: deps.redis,
    publisher: deps.publisher,
    routing: deps.routing,
    checkKafka: deps.checkKafka ?? (async () => undefined),
    verifier: new TokenVerifier({
      hs256Secret: config.jwt.hs256Secret ?? undefined,
      jwksUrl: config.jwt.jwksUrl ?? undefined,
      issuer: config.jwt.issuer ?? undefined,
      audience: config.jwt.audience ?? undefined,
      lifetimeMaxS: config.jwtLifetimeMaxS,
      cachedTokensMax: config.verifiedTokensMax,
    }),
    limiter: deps.limiter ?? createRequestLimiter(config.rateLimits, null, config.redisKeyPrefix),
    directory: new AccountDirectory(deps.pool, config.accountCacheEntriesMax),
    metrics,
    batchAdmission: new BatchAdmission({
      itemsInFlightMax: config.batchItemsInFlightMax,
      waitMaxMs: config.batchAdmissionWaitMs,
      onRefused: () => metrics.batchAdmissionRefused.inc(),
      onInFlight: (items) => metrics.batchItemsInFlight.set(items),
    }),
    longPollShares: new LongPollShares(config.longPollsPerPrincipalMax),
    commandsTopic: topicNames(config.kafkaTopicPrefix).commands,
    seal: new CommandSeal(config.commandKey.current),
    clock: deps.clock ?? systemClock,
    log,
    warn: rateLimited(log, config.warnIntervalMs),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  // One spelling per route: `/v1/batch/` is a 404, not the batch route without its own body
  // limit and admission check, which compare the path as spelled (an outside review).
  app.set('strict routing', true);
  // Every answer is JSON or Prometheus text, never a page: a browser must not sniff one into
  // HTML (a 404 quotes the caller's path; an outside security review).
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  // Tracing on (packages/tracing): the request's span, active for all that follows.
  if (tracingEnabled()) app.use(requestSpans());
  app.use(httpLogger(logger));
  app.use(measure(ctx));
  app.use(refuseAmbiguousFraming);
  app.use(inFlightCap(ctx));
  mountMethodGuard(app, ROUTES);
  // A GET, HEAD or DELETE has no body to read here: one declared is refused before a byte of
  // it is read, and the connection closed. Read, a body that never finished held the
  // request's in-flight slot until the request timed out, on the read budget (500/s) rather
  // than the write budget (an outside review held every slot with one principal's GETs that
  // declared 100 bytes and sent one). Before the Content-Type's 415 (an outside review: a GET
  // with a body and no Content-Type was a 415 that kept the connection, where docs/api.md
  // promises this 400); after the method's 405.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!BODYLESS_METHODS.has(req.method) || !declaresBody(req)) return next();
    res.setHeader('Connection', 'close');
    next(Object.assign(new Error('request body not allowed'), { status: 400, type: 'entity.unexpected', method: req.method }));
  });
  app.use('/v1', authenticate(ctx));
  app.use('/v1', inFlightPerPrincipalCap(ctx));
  // A batch the API could not start in time is refused before it costs the caller a write
  // of its budget, and before its body is read and parsed (batch-admission.ts).
  app.use((req: Request, _res: Response, next: NextFunction) =>
    next(req.path === BATCH_PATH && req.method === 'POST' && ctx.batchAdmission.saturated() ? ctx.batchAdmission.refusal() : undefined),
  );
  app.use('/v1', rateLimit(ctx));
  app.use('/v1', refuseLongQueries);
  app.use('/v1', refuseMalformedQueryEscapes);
  app.use(jsonOnly);
  // The batch route alone takes a large body; every other route keeps the small limit.
  // Bodies are read as sent: no Content-Encoding (a compressed body is 415, and no
  // decompression runs before the size limit), and bytes that are not UTF-8 are a 400 rather
  // than replaced by U+FFFD, which would store something the client never sent.
  const bodyOptions = { type: 'application/json', strict: true, inflate: false, verify: verifyBody };
  // A declared length over the limit is refused before the body is read: body-parser answers
  // its 413 only once the whole body has arrived, so a client that declares 10 MB and sends
  // nothing held a connection and an in-flight slot until the request timed out (a 408 after
  // a minute; found by an outside review). The connection closes: its body is never read.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const limit = req.path === BATCH_PATH ? config.batchBodyBytesMax : config.requestBodyBytesMax;
    if (!(Number(req.headers['content-length']) > limit)) return next(); // absent (chunked): body-parser counts
    res.setHeader('Connection', 'close');
    next(Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large', limit }));
  });
  const parseJson = express.json({ ...bodyOptions, limit: config.requestBodyBytesMax });
  const parseBatchJson = express.json({ ...bodyOptions, limit: config.batchBodyBytesMax });
  app.use((req: Request, res: Response, next: NextFunction) => (req.path === BATCH_PATH ? parseBatchJson : parseJson)(req, res, next));
  app.use(refuseBodyTextProblems);

  mountRoutes(app, ctx, ROUTES);

  app.use((req: Request) => {
    throw new ApiError(404, 'NOT_FOUND', `no route for ${req.method} ${shownPath(req.path)}`);
  });
  app.use(errorHandler(ctx));
  return app;
}

function rateLimited(log: (line: string) => void, intervalMs: number): (key: string, line: string) => void {
  const lastAt = new Map<string, number>();
  return (key, line) => {
    const now = Date.now();
    if (now - (lastAt.get(key) ?? 0) < intervalMs) return;
    lastAt.set(key, now);
    log(line);
  };
}

/**
 * An answer written before express saw the request: Node's parser refused it, or it asked
 * for an Expect or a CONNECT. express's access log and request counter never see these;
 * startServer hands each one to its `onRawAnswer` instead.
 */
export interface RawAnswer {
  status: number;
  code: ApiErrorCode;
  /** The X-Request-Id the answer carries. */
  id: string;
  /** Absent when the parser could not read the request line. */
  method?: string;
  url?: string;
}

/** Listens and resolves once the port is bound (port 0 picks a free one: tests). */
export function startServer(
  app: Express,
  port: number,
  host: string,
  timeouts: { keepAliveTimeoutMs: number; headersTimeoutMs: number; requestTimeoutMs: number },
  onRawAnswer: (answer: RawAnswer) => void = () => undefined,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Node checks the header and request deadlines on a timer, every 30 s by default: a
    // request past API_HTTP_HEADERS_TIMEOUT_MS of 2 s got its 408 only ~30 s later.
    const connectionsCheckingInterval = Math.max(100, Math.min(1_000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 4)));
    // A missing Host is refused by refuseAmbiguousFraming, in the API's error body.
    const server = createServer({ connectionsCheckingInterval, requireHostHeader: false }, app).listen(port, host);
    // Long polls last up to 30 s; keep-alive must outlive a load balancer's idle timeout.
    server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
    server.headersTimeout = timeouts.headersTimeoutMs;
    server.requestTimeout = timeouts.requestTimeoutMs;
    // Node keeps the first 2,000 headers of a request and drops the rest without a word,
    // though its parser still frames the body by them: a Content-Length, a second
    // Authorization or a Content-Encoding past them went unseen by every check. No count
    // limit; the 16 KiB of maxHeaderSize bounds a request's headers (431 past it).
    server.maxHeadersCount = 0;
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      const answer = answerClientError(error, socket);
      if (answer) onRawAnswer(answer);
    });
    // Node's defaults: a bare 417 for an Expect other than 100-continue, and a CONNECT
    // request's connection dropped without an answer.
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      const id = randomUUID();
      const body = JSON.stringify({ error: { code: 'EXPECTATION_FAILED', message: 'Expect must be 100-continue or absent' } });
      res.writeHead(417, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': id, Connection: 'close' }).end(body);
      req.resume();
      onRawAnswer({ status: 417, code: 'EXPECTATION_FAILED', id, method: req.method, url: req.url });
    });
    server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      const answer = answerRaw(socket, { status: 405, reason: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED', message: 'CONNECT is not served: this is not a proxy' });
      onRawAnswer({ ...answer, method: req.method, url: req.url });
    });
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * What Node's HTTP parser refuses before express sees a request (headers over 16 KiB, a
 * malformed request line or header, a request too slow to arrive) answered in the API's error
 * body, where Node's default writes a bare status line. The connection closes: the parser
 * cannot go on from a broken request.
 */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; reason: string; code: ApiErrorCode; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'HEADERS_TOO_LARGE', message: 'the request line and headers are over 16 KiB' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' },
};
const MALFORMED_REQUEST = { status: 400, reason: 'Bad Request', code: 'BAD_REQUEST' as ApiErrorCode, message: 'the request is not valid HTTP' };

/** The answer written, or null when the peer got none (gone, or an answer already begun). */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): RawAnswer | null {
  // A peer that is gone, or a connection whose answer has begun, gets nothing more.
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (error.code === 'ECONNRESET' || !socket.writable || answering) {
    socket.destroy();
    return null;
  }
  return answerRaw(socket, CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED_REQUEST);
}

/** An error answer written on the socket itself (no response object), then the connection closed. */
function answerRaw(socket: Duplex, answer: { status: number; reason: string; code: ApiErrorCode; message: string }): RawAnswer {
  const body = JSON.stringify({ error: { code: answer.code, message: answer.message } });
  // Every answer carries X-Request-Id (docs/api.md); the parser read no header to echo.
  const id = randomUUID();
  const head = `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close`;
  socket.end(`HTTP/1.1 ${answer.status} ${answer.reason}\r\n${head}\r\n\r\n${body}`);
  return { status: answer.status, code: answer.code, id };
}

/**
 * Query parameters a request may carry at most. Express reads a query with node:querystring,
 * which drops every pair past its 1,000th (empty ones counted) without a word: `?&&...&at=`
 * was served as if `at` were absent, while a gateway in front read it. No route takes more
 * than a handful, so a longer query is refused whole.
 */
export const QUERY_PAIRS_MAX = 64;

function refuseLongQueries(req: Request, _res: Response, next: NextFunction): void {
  // Counted on the URL without splitting it (every /v1 request passes here): pairs are the
  // '&'s after the '?', plus one.
  let pairs = 0;
  for (let at = req.url.indexOf('?'); at >= 0 && pairs <= QUERY_PAIRS_MAX; at = req.url.indexOf('&', at + 1)) pairs++;
  next(pairs > QUERY_PAIRS_MAX ? validationFailed([{ path: '(query)', message: `has more than ${QUERY_PAIRS_MAX} parameters` }], 'query is not valid') : undefined);
}

/**
 * A query's `%` escapes must decode to UTF-8, as a path's must (MALFORMED_URL): the query
 * parser (qs) replaces what it cannot decode with U+FFFD and keeps `%zz` as written, so
 * `?owner=%FF` read the accounts of a principal named "\uFFFD" (an outside review).
 */
function refuseMalformedQueryEscapes(req: Request, _res: Response, next: NextFunction): void {
  const at = req.url.indexOf('?');
  if (at < 0 || !req.url.includes('%', at)) return next();
  for (const part of req.url.slice(at + 1).split(/[&=]/)) {
    try {
      decodeURIComponent(part);
    } catch (error) {
      return next(error); // URIError: 400 MALFORMED_URL (errors.ts)
    }
  }
  next();
}

/** framingProblem's refusals: a 400, and the connection closes (what follows cannot be trusted). */
function refuseAmbiguousFraming(req: Request, res: Response, next: NextFunction): void {
  const problem = framingProblem(req);
  if (problem === null) return next();
  res.set('Connection', 'close');
  next(new ApiError(400, 'BAD_REQUEST', problem));
}

/** Counts and times every answer by route template (never by raw path: unbounded labels). */
function measure(ctx: AppContext) {
  return (req: Request, res: Response, next: NextFunction) => {
    const stopTimer = ctx.metrics.requestSeconds.startTimer();
    res.once('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      stopTimer({ method: req.method, route });
      ctx.metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/**
 * A bound on requests in progress: past it the API answers 429 at once instead of queueing
 * work it cannot finish in time. Every path counts (an exemption by prefix was a way
 * around it: `/V1/...`), except exactly `/healthz`, which does no work and must keep
 * answering a liveness probe under overload.
 */
function inFlightCap(ctx: AppContext) {
  let inFlight = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/healthz') return next();
    if (inFlight >= ctx.config.inFlightRequestsMax) {
      ctx.metrics.refusedOverload.inc();
      res
        .status(429)
        .set('Retry-After', String(ctx.config.backpressureRetryAfterS))
        .json({ error: { code: 'TOO_MANY_REQUESTS', message: 'too many requests in progress; retry shortly' } });
      return;
    }
    inFlight++;
    ctx.metrics.inFlight.inc();
    res.once('close', () => {
      inFlight--;
      ctx.metrics.inFlight.dec();
    });
    next();
  };
}

/** Methods whose requests this API never reads a body of. */
const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE']);

/** A body is coming: a non-zero Content-Length, or any Transfer-Encoding (chunked). */
function declaresBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * A principal's share of the in-flight cap: past `inFlightPerPrincipalMax` of its own requests
 * in progress, its next one is 429 at once, and everyone else's still fit under the global cap
 * (an outside review filled the whole cap with one principal's slow requests). The map holds a
 * principal only while it has a request in progress.
 */
function inFlightPerPrincipalCap(ctx: AppContext) {
  const inFlight = new Map<string, number>();
  return (_req: Request, res: Response, next: NextFunction) => {
    const { principal } = res.locals.auth as AuthContext;
    const current = inFlight.get(principal) ?? 0;
    if (current >= ctx.config.inFlightPerPrincipalMax) {
      ctx.metrics.refusedOverload.inc();
      res
        .status(429)
        .set('Retry-After', String(ctx.config.backpressureRetryAfterS))
        .json({ error: { code: 'TOO_MANY_REQUESTS', message: 'too many requests of this principal in progress; retry shortly' } });
      return;
    }
    inFlight.set(principal, current + 1);
    res.once('close', () => {
      const left = (inFlight.get(principal) ?? 1) - 1;
      if (left > 0) inFlight.set(principal, left);
      else inFlight.delete(principal);
    });
    next();
  };
}

function authenticate(ctx: AppContext) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const auth = await ctx.verifier.verifyToken(req.get('Authorization'));
    res.locals.auth = auth;
    res.locals.principal = auth.principal; // for the request's log line (packages/logging httpLogger)
    next();
  };
}

/** GETs spend the principal's read budget, everything else its write budget. */
function rateLimit(ctx: AppContext) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const kind = req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write';
    try {
      await ctx.limiter.consume(kind, res.locals.auth as AuthContext);
    } catch (error) {
      ctx.metrics.refusedRateLimited.inc({ kind });
      throw error;
    }
    next();
  };
}

/**
 * A request that carries a body must say it is JSON, in UTF-8 if it names a charset (RFC 8259
 * section 8.1; body-parser alone would decode UTF-7, UTF-16 and UTF-32, and a UTF-7 body can
 * say one thing to whatever reads its bytes and another to the API); one without a body
 * parses as {}.
 */
function jsonOnly(req: Request, _res: Response, next: NextFunction) {
  // `Content-Length: 0` is no body either (type-is counts it as one), as many clients send it
  // on a POST without one (Node's fetch does): a void was a 415.
  const empty = req.get('Content-Length') === '0' && req.get('Transfer-Encoding') === undefined;
  const json = empty ? null : req.is('application/json'); // null: no body
  if (json === false) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  }
  // Read by `content-type`, the parser body-parser decodes by: a check that read the header
  // its own way could see utf-8 where the decoder sees utf-7 (a quoted parameter holding
  // ";charset=utf-8;").
  if (json !== null && charsetOf(req.get('Content-Type') ?? '') !== 'utf-8') {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json, its charset (when given) utf-8');
  }
  next();
}

/**
 * The charset a Content-Type names, lower-cased: utf-8 when it names none; null when malformed
 * or named twice (`content-type` keeps the first, another reader the last: an outside review).
 */
function charsetOf(header: string): string | null {
  if ((header.match(/;\s*charset\s*=/gi) ?? []).length > 1) return null;
  try {
    return parseContentType(header).parameters.charset?.toLowerCase() ?? 'utf-8';
  } catch {
    return null;
  }
}

/**
 * body-parser's `verify`, on the raw bytes before they are decoded: they must be UTF-8, and
 * every number literal must be one a double holds exactly (inexactNumberLiteral). The text is
 * kept for the checks that need a body that parsed (refuseBodyTextProblems).
 */
function verifyBody(req: Request, _res: unknown, bytes: Buffer): void {
  if (!isUtf8(bytes)) throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400, type: 'entity.encoding.invalid' });
  const text = bytes.toString('utf8');
  bodyTexts.set(req, text);
  const inexact = inexactNumberLiteral(text);
  if (inexact !== null) inexactLiterals.set(req, inexact);
}

/** Found or kept by verifyBody, judged once the body has parsed (a body that is not JSON is MALFORMED_JSON first). */
const inexactLiterals = new WeakMap<Request, string>();
const bodyTexts = new WeakMap<Request, string>();

/**
 * Objects deeper than this are not looked into for repeated keys: the depth checks refuse a
 * body, or a batch item, far shallower (BODY_DEPTH_MAX), so the scan of a legal body is whole.
 */
const REPEATED_KEYS_DEPTH_MAX = 32;

/**
 * The parsed body's text problems: an inexact number literal, then a key repeated within one
 * object (duplicateKey: JSON.parse keeps the last, a proxy in front may have kept the first).
 * The key scan runs only on a text JSON.parse accepted, so garbage never costs it anything.
 */
function refuseBodyTextProblems(req: Request, _res: Response, next: NextFunction): void {
  const literal = inexactLiterals.get(req);
  if (literal !== undefined) {
    return next(Object.assign(new Error(`number ${literal.slice(0, 40)} is not exact`), { status: 400, type: 'entity.number.inexact', literal }));
  }
  const text = bodyTexts.get(req);
  const repeated = text === undefined ? null : duplicateKey(text, REPEATED_KEYS_DEPTH_MAX);
  next(repeated === null ? undefined : Object.assign(new Error(`key ${shownKey(repeated)} is repeated`), { status: 400, type: 'entity.key.duplicate', key: repeated }));
}

function errorHandler(ctx: AppContext) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = toHttpError(error, ctx.config);
    // pino-http's line for this request carries the status; the stack goes with the request id.
    if (answer.unexpected) req.log.error({ err: error }, `500 on ${req.method} ${req.path}`);
    res.locals.errorCode = answer.body.error.code; // for the request's log line
    // A refused token: which check failed, for the same line (the message the caller gets; never the token).
    if (error instanceof AuthError && !(error instanceof AuthUnavailableError)) res.locals.authRefusal = answer.body.error.message;
    // A 503 names the dependency that failed (Postgres, Kafka, Redis, auth): the log line too,
    // and why, once per interval per dependency (the client is told only which: a key set
    // that could not be fetched was logged nowhere, an outside review).
    const dependency = (answer.body.error as { details?: { dependency?: unknown } }).details?.dependency;
    if (typeof dependency === 'string') {
      res.locals.errorDependency = dependency;
      if (error instanceof Error) ctx.warn(`unavailable-${dependency}`, `${dependency} unavailable: ${error.message}`);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // What a handler set for the answer it meant to send describes that answer, not this
    // one: `send` (GET /docs/assets/{file}) sets a stylesheet's Content-Type, a day's public
    // Cache-Control and Last-Modified before it finds a precondition failing, and a 412 JSON
    // body went out labelled text/css and cacheable by any shared cache for a day (an outside
    // review). An error is JSON (res.json sets the type once none is set) and never cached.
    for (const header of SUCCESS_REPRESENTATION_HEADERS) res.removeHeader(header);
    res.status(answer.status).set(answer.headers).json(answer.body);
  };
}

/**
 * Headers that describe a successful answer's body or how long it may be cached; none of
 * them is true of an error answer. Allow, Connection, X-Request-Id and the like stay.
 */
const SUCCESS_REPRESENTATION_HEADERS = ['Content-Type', 'Content-Length', 'Content-Disposition', 'Content-Range', 'Accept-Ranges', 'Cache-Control', 'Expires', 'ETag', 'Last-Modified', 'Location'] as const;

/** The most of a path a 404 quotes back: a path is the caller's text (up to ~16 KiB), sent before any token is checked outside /v1. */
export const SHOWN_PATH_CHARS_MAX = 100;

/** A path as an error message quotes it: its first SHOWN_PATH_CHARS_MAX characters, and how long it was when longer. */
function shownPath(path: string): string {
  return path.length > SHOWN_PATH_CHARS_MAX ? `${path.slice(0, SHOWN_PATH_CHARS_MAX)}... (${path.length} characters)` : path;
}
