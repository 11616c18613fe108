/**
 * The route table: every HTTP route is declared ONCE, here-shaped, and both the express
 * router (mountRoutes) and /openapi.json (openapi.ts) read that one declaration. The
 * schemas a route declares are the ones that validate its requests, so the document
 * cannot say less (or more) than the API enforces.
 *
 * HOW TO ADD A ROUTE
 *   1. Schemas: request bodies and queries in packages/schemas/src/http.ts, each bound
 *      declared in zod in a way JSON Schema can say (min/max, maxLength, a regex; a
 *      `.refine` is invisible to the document, so use one only for what JSON Schema cannot
 *      express, like from != to). Give a reusable schema `.meta({ id: 'Name' })`.
 *   2. Declaration: in a module under routes/ (or a new one listed in routes/index.ts):
 *
 *        export const holdRoutes = [
 *          defineRoute({
 *            method: 'post',
 *            path: '/v1/holds',               // OpenAPI template: {id}, not :id
 *            summary: 'Place a hold',
 *            idempotent: true,                // requires Idempotency-Key (400), may be 422
 *            body: holdBody,                  // parsed and validated before handle (400)
 *            responses: { 202: { description: 'Durable', schema: transferResource, location: true } },
 *            errors: [403],                   // statuses the handler itself may answer
 *            handle: async (ctx, { res, body, key }) => { ... },
 *          }),
 *        ];
 *
 *      `params` (path, a failure answers 404: such an id names nothing), `query` and
 *      `body` are zod schemas; `handle` gets their parsed output, typed. A route whose
 *      body holds items each answered on its own (POST /v1/batch) sets `bodyCheckedBy:
 *      'handler'`: the table documents the body, and the handler checks it piece by piece
 *      with the same schemas (`body` is then the raw JSON). Statuses implied
 *      by the declaration are documented without being listed: 401/429/503 for every /v1
 *      route, 404 (and 400) for path params, 400 for a query, body or key, 413/415 for a body, 422
 *      for `idempotent`. List in `errors` only what the handler adds (403, 404, 409...).
 *   3. Nothing else: mountRoutes registers it, answers 405 with `Allow` for the methods a
 *      declared path does not have, and openapi.ts describes it. Regenerate the typed
 *      client (`npm run client:generate`) and commit packages/client/src/schema.ts; a unit
 *      test fails while it is stale.
 */
import type { Express, NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { AppContext } from './context';
import { ApiError, notFound, shownPath, validationFailed } from './errors';
import { idempotencyKeyOf, parseBody, parseQuery } from './http-input';
import { requireOperator } from './request-principal';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  /** JSON body; omitted for a body the document does not describe (metrics text, HTML). */
  schema?: z.ZodType;
  /** Content types when the body is not JSON (the schema is then ignored). */
  contentTypes?: string[];
  /** The answer carries `Location: <the resource's URL>`. */
  location?: boolean;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** The Idempotency-Key (routes declared `idempotent` only). */
  key: string;
}

export interface RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  method: HttpMethod;
  /** OpenAPI path template, e.g. /v1/accounts/{id}. */
  path: string;
  summary: string;
  description?: string;
  /** No bearer token (operations endpoints). Every /v1 route needs one. */
  public?: boolean;
  /**
   * With `public`: the operator network (API_OPERATOR_NETWORKS) gets in without a token,
   * anyone else only with a ledger:admin one (requireOperator, run by mountRoutes before
   * the handler). The document declares the token optional.
   */
  operator?: boolean;
  /** The request needs an Idempotency-Key header; a reused key with another body is 422. */
  idempotent?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * 'table' (default): the body is parsed with `body` before `handle`. 'handler': `handle`
   * gets the raw JSON and checks it itself with the same schemas, so that one bad item of a
   * batch is a 400 of that item and not of the whole request.
   */
  bodyCheckedBy?: 'table' | 'handler';
  responses: Record<number, ResponseSpec>;
  /** Error statuses the handler itself may answer beyond those implied (see the top). */
  errors?: number[];
  handle(ctx: AppContext, input: RouteInput<Parsed<P>, Parsed<Q>, Parsed<B>>): Promise<void> | void;
}

/** A route as the table holds it: the handler's input types erased. */
export type Route = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Identity at run time; at compile time it types `handle`'s input from the schemas. */
export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return spec as unknown as Route;
}

/** The header every `idempotent` route declares (its schema validates it too). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Error statuses of a route: those its declaration implies, then its own, sorted. */
export function errorStatusesOf(route: Route): number[] {
  const statuses = new Set<number>(route.errors ?? []);
  // Every non-public route refuses a query it does not declare (refuseQuery): 400.
  if (!route.public) [400, 401, 503].forEach((s) => statuses.add(s));
  // The in-flight cap (app.ts) answers 429 on every path but /healthz, public ones included.
  if (route.path !== '/healthz') statuses.add(429);
  // A path value outside its schema is 404; a malformed percent-escape in it is 400.
  if (route.params) [400, 404].forEach((s) => statuses.add(s));
  if (route.query || route.body || route.idempotent) statuses.add(400);
  if (route.body) [413, 415].forEach((s) => statuses.add(s));
  if (route.idempotent) statuses.add(422);
  return [...statuses].sort((a, b) => a - b);
}

/** /v1/accounts/{id} -> /v1/accounts/:id */
export function expressPath(template: string): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

/** The methods each declared path answers, in table order (HEAD comes with GET). */
export function allowedMethods(routes: readonly Route[]): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const route of routes) {
    const methods = byPath.get(route.path) ?? [];
    methods.push(route.method.toUpperCase());
    if (route.method === 'get') methods.push('HEAD');
    byPath.set(route.path, methods);
  }
  return byPath;
}

/**
 * Mounts the 405 guard of every declared path. Call it before body parsing: a method the
 * path does not have is refused whatever its body or content type.
 */
export function mountMethodGuard(app: Express, routes: readonly Route[]): void {
  for (const [path, methods] of allowedMethods(routes)) {
    const allow = methods.join(', ');
    app.all(expressPath(path), function methodGuard(req: Request, res: Response, next: NextFunction) {
      if (methods.includes(req.method)) return next();
      res.set('Allow', allow);
      throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; allowed: ${allow}`);
    });
  }
}

/** Registers every route's handler, its inputs parsed from the schemas it declares. */
export function mountRoutes(app: Express, ctx: AppContext, routes: readonly Route[]): void {
  for (const route of routes) {
    app[route.method](expressPath(route.path), async (req: Request, res: Response) => {
      if (route.operator) await requireOperator(ctx, req, res);
      await route.handle(ctx, inputOf(route, req, res));
    });
  }
}

/** /v1/accounts/{id}/balance -> 'account': the collection that names the first parameter. */
function resourceNameOf(path: string): string {
  const segments = path.split('/');
  const collection = segments[segments.findIndex((s) => s.startsWith('{')) - 1] ?? 'resource';
  return collection.replace(/s$/, '');
}

/**
 * A route of the API that declares no query takes none: `POST /v1/transfers?dry_run=true`
 * would otherwise move the money and ignore the flag. Public routes (health, the spec, the
 * docs page a browser may open with its own parameters) are not refused.
 */
function refuseQuery(route: Route, req: Request): undefined {
  if (route.public) return undefined;
  const names = Object.keys(req.query as object);
  if (names.length > 0) throw validationFailed(names.slice(0, 5).map((name) => ({ path: shownPath(name), message: 'is not a known query parameter' })), 'query is not valid');
  return undefined;
}

function inputOf(route: Route, req: Request, res: Response): RouteInput<unknown, unknown, unknown> {
  let params: unknown;
  if (route.params) {
    const parsed = route.params.safeParse(req.params);
    // A path value outside its schema (an id that is not a UUID) names nothing: 404, and
    // no store is asked about it.
    if (!parsed.success) throw notFound(resourceNameOf(route.path));
    params = parsed.data;
  }
  const key = route.idempotent ? idempotencyKeyOf(req) : undefined;
  const query = route.query ? parseQuery(route.query, req.query) : refuseQuery(route, req);
  const body = route.body && route.bodyCheckedBy !== 'handler' ? parseBody(route.body, req.body) : req.body;
  return {
    req,
    res,
    params,
    query,
    body,
    get key(): string {
      if (key === undefined) throw new Error(`${route.method.toUpperCase()} ${route.path} reads the Idempotency-Key but is not declared idempotent`);
      return key;
    },
  };
}
