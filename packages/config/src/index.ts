/**
 * Each app has one config module: a zod object over process.env, parsed once at start.
 * This package holds the shared pieces: the parse that turns issues into one clear message,
 * and field builders that name their unit and bounds.
 */
import { parse as parsePgUrl } from 'pg-connection-string';
import { z } from 'zod';
import { ConfigError } from './errors';
import { type AppConnections, hostsBeyondThisMachine, isThisHost, keySetUrlProblems } from './transport';

export { ConfigError } from './errors';

export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const value = env[name];
    return `  ${name}=${value === undefined ? '(unset)' : shownValue(name, value)}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/**
 * A refused value as the message may show it: a secret's only by its length, and a URL's
 * user and password masked (`redis://***@cache:6379`): the message goes to stderr, which an
 * orchestrator ships to its logs (an outside review found REDIS_URL's password there).
 */
export function shownValue(name: string, value: string): string {
  if (/(SECRET|PASSWORD|_KEY|TOKEN)(_PREVIOUS)?$/.test(name)) return `(${value.length} characters, not shown)`;
  // Kept: the scheme and the slashes after it, whatever they are. Not `//` alone: a URL refused
  // for its mistyped scheme (`rediss:/:pw@cache`, `rediss:pw@cache`) has none, and its
  // password was printed (an outside review).
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*/.exec(value)?.[0] ?? '';
  let rest = value.slice(scheme.length);
  // The credentials, to the last `@`: a password may hold an unencoded `/`, `?`, `#` or `@`.
  // When they hold a `?` or `#`, that `@` may as well be inside a query (`?password=p@ss`):
  // nothing after the scheme is shown.
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = /[?#]/.test(rest.slice(0, at)) ? '***' : `***${rest.slice(at)}`;
  // And any query or fragment (`&` too: what follows an `@` inside a query is still the query).
  return JSON.stringify(scheme + rest.replace(/[?#&].*$/, '?***'));
}

/**
 * An integer env var with inclusive bounds, written in decimal digits. Empty or blank is
 * refused, not read as 0 (a templated `VAR=` would otherwise turn a timer off), and so are
 * forms a number parser would take (`1e3`, `0x10`).
 */
export function decimalIntVar(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(1, 'is empty: unset it to use the default')
    .regex(/^-?[0-9]{1,16}$/, 'must be an integer in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`));
}

/** An integer env var with a default and inclusive bounds. */
export function intVar(defaultValue: number, min: number, max: number) {
  return decimalIntVar(min, max).default(defaultValue);
}

export function stringVar(defaultValue: string) {
  return z
    .string()
    .refine((v) => v.trim().length > 0, 'must not be empty or blank')
    .default(defaultValue);
}

/**
 * The longest name a Kafka consumer group or client id given in the environment may have: as
 * long as Kafka lets a topic's name be. Kafka sets no bound of its own on these below the
 * protocol's 32,767 bytes; a longer one is a slip (a pasted file, a runaway template).
 */
export const KAFKA_NAME_CHARS_MAX = 249;

/**
 * An optional name the app hands to a library or shows people (a consumer group, a worker's
 * id): unset takes the app's default, computed where it is used. Set, it must be a name: an
 * empty `VAR=` from a template would otherwise reach kafkajs as '' and stop the process there
 * ("Consumer groupId must be a non-empty string"), naming no variable.
 */
export function optionalNameVar(maxChars: number) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = nameProblem(value, maxChars);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional();
}

/**
 * The longest suffix ledgerline puts after KAFKA_TOPIC_PREFIX: the workers' default consumer
 * group, `<prefix>.partition-workers` (the topics are `<prefix>.commands`, `.events`,
 * `.dead-letter`).
 */
const PREFIXED_NAME_SUFFIX_MAX = '.partition-workers'.length;

/**
 * KAFKA_TOPIC_PREFIX: what every topic name and the default consumer group start with. A
 * topic name is at most 249 characters of ASCII letters, digits, '.', '_' and '-' (Kafka's
 * rule); anything else (a space, a '/', a name past 249 once suffixed) passed the config and
 * failed at `ledgerctl migrate` with kafkajs's "Topic creation errors", naming no variable,
 * after the migrations had run.
 */
export function topicPrefixVar(defaultValue: string) {
  const charsMax = KAFKA_NAME_CHARS_MAX - PREFIXED_NAME_SUFFIX_MAX;
  return z
    .string()
    .default(defaultValue)
    .superRefine((value, ctx) => {
      if (value.length === 0) ctx.addIssue({ code: 'custom', message: 'must not be empty' });
      else if (!/^[A-Za-z0-9._-]+$/.test(value)) ctx.addIssue({ code: 'custom', message: "must be ASCII letters, digits, '.', '_' and '-' only (a Kafka topic name)" });
      else if (value.length > charsMax) ctx.addIssue({ code: 'custom', message: `must be at most ${charsMax} characters (its topics and consumer group stay within Kafka's ${KAFKA_NAME_CHARS_MAX})` });
    });
}

/** Why `value` is not a name of at most `maxChars` characters, or null. */
function nameProblem(value: string, maxChars: number): string | null {
  if (value.trim().length === 0) return 'is empty or blank: unset it to use the default';
  // ' ledger.partition-workers' would be another group, silently: a copy-paste slip.
  if (value.trim() !== value) return 'starts or ends with white space';
  if ([...value].length > maxChars) return `must be at most ${maxChars} characters`;
  // Names reach logs and ledgerctl's tables, read by people in a terminal.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value)) return 'must not contain a control or invisible format character';
  return null;
}

export function boolVar(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
}

/** Comma-separated host:port list (Kafka brokers). */
export function brokersVar(defaultValue: string) {
  return z
    .string()
    .default(defaultValue)
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((b) => /^[^:\s]+:\d+$/.test(b)), 'must be host:port[,host:port...]');
}

/**
 * The local stack's addresses (infra/local/ports.env, profile dev). Each app connects to
 * Postgres as its own least-privileged role (packages/postgres/privileges.sql); the local
 * passwords are the role names, which LEDGERLINE_ENV=production refuses.
 */
export const LOCAL_DEFAULTS = {
  kafkaBrokers: '127.0.0.1:19092',
  /** The ingest API's role: reads, opens accounts, claims idempotency keys. */
  apiDatabaseUrl: 'postgres://ledgerline_api:ledgerline_api@127.0.0.1:16432/ledgerline',
  /** The partition workers' role: writes the ledger, never rewrites an entry. */
  workerDatabaseUrl: 'postgres://ledgerline_worker:ledgerline_worker@127.0.0.1:16432/ledgerline',
  /** The schema owner: migrations and bucket moves (ledgerctl only). */
  ownerDatabaseUrl: 'postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:16432/ledgerline',
  redisUrl: 'redis://127.0.0.1:16379',
  topicPrefix: 'ledger',
  partitionCount: 8,
  jwtSecret: 'dev-secret-change-me',
  /** Seals operator commands on Kafka (LEDGERLINE_COMMAND_KEY); as public as the JWT one. */
  commandKey: 'dev-command-key-change-me',
} as const;

/** The log level of an app (LOG_LEVEL): pino's levels, `silent` for none. */
export function logLevelVar(defaultValue: 'info' | 'debug' | 'warn' = 'info') {
  return z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be a pino level (fatal..trace, silent)' }).default(defaultValue);
}

/**
 * `promise`, or a rejection once `timeoutMs` has passed (AbortSignal.timeout: its timer is
 * unref'd, so a bounded probe never keeps the process alive). For the calls that take no
 * signal of their own: the call itself keeps running, only the wait is bounded.
 */
export function within<T>(promise: Promise<T>, timeoutMs: number, what = 'no answer'): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error(`${what} within ${timeoutMs} ms`)), { once: true });
  });
  timedOut.catch(() => undefined); // the usual case: the promise won and nobody awaits this one
  return Promise.race([promise, timedOut]);
}

/** user:password pairs of the local stack (infra/local/stack.sh); never valid in production. */
export const LOCAL_DATABASE_CREDENTIALS: readonly (readonly [string, string])[] = [
  ['ledgerline', 'ledgerline'],
  ['ledgerline_owner', 'ledgerline_owner'],
  ['ledgerline_worker', 'ledgerline_worker'],
  ['ledgerline_api', 'ledgerline_api'],
];

// ---------------------------------------------------------------------------------------------
// Environments
// ---------------------------------------------------------------------------------------------

/**
 * LEDGERLINE_ENV: `development` (the default, `npm start`), `test` (`npm test`) or
 * `production`. Only production refuses the local defaults (secrets, credentials) and
 * raises the Kafka durability defaults; the other two run against the local stack as is.
 */
export const LEDGERLINE_ENVS = ['development', 'test', 'production'] as const;
export type LedgerlineEnv = (typeof LEDGERLINE_ENVS)[number];

/**
 * Why a process must say which environment it runs in, or null. LEDGERLINE_ENV unset means
 * development, whose defaults are public (the JWT secret, the command key: anyone can sign an
 * admin token or seal a deposit with them) and safe only on the machine that runs them. A
 * process that reaches another host, or listens beyond this machine, without saying which
 * environment it is in would be a deployment that forgot LEDGERLINE_ENV=production: it
 * refuses to start. Saying `development` (npm start and docker compose do) or `test` goes on.
 * `listens`: [variable, address] the process binds (0.0.0.0 and :: are every interface).
 *
 * Addresses cannot tell a deployment whose dependencies and listener are all on one host (the
 * API on 127.0.0.1 behind nginx or a sidecar, reached by everyone): that one took tokens
 * signed with the public secret (an outside review). NODE_ENV says it: set to anything but
 * development or test (the Dockerfile sets production, a unit file or a platform often does),
 * it is a deployment, and without LEDGERLINE_ENV the process refuses to start.
 */
export function implicitDevelopmentProblem(
  env: NodeJS.ProcessEnv,
  connections: AppConnections,
  listens: readonly (readonly [string, string])[] = [],
): string | null {
  if (env.LEDGERLINE_ENV?.trim()) return null;
  const nodeEnv = env.NODE_ENV?.trim() ?? '';
  if (nodeEnv !== '' && !DEVELOPMENT_NODE_ENVS.includes(nodeEnv.toLowerCase())) {
    return (
      `LEDGERLINE_ENV: not set, so the development defaults apply (a public JWT secret and command key), yet NODE_ENV=${JSON.stringify(nodeEnv.slice(0, 32))} ` +
      'says this is a deployment. Set LEDGERLINE_ENV=production, or LEDGERLINE_ENV=development to run the development defaults deliberately'
    );
  }
  const beyond = [...hostsBeyondThisMachine(connections, env), ...listens.filter(([, host]) => !isThisHost(host))];
  if (beyond.length === 0) return null;
  const [name, host] = beyond[0]!;
  return (
    `LEDGERLINE_ENV: not set, so the development defaults apply (a public JWT secret and command key), yet ${name} ` +
    `${listens.some(([n]) => n === name) ? 'listens on' : 'reaches'} ${host}, beyond this machine. Set LEDGERLINE_ENV=production for a deployment, ` +
    'or LEDGERLINE_ENV=development to run the development defaults on a network deliberately'
  );
}

/** NODE_ENV values that do not mark a deployment (implicitDevelopmentProblem). */
const DEVELOPMENT_NODE_ENVS: readonly string[] = ['development', 'dev', 'test'];

/**
 * LL_PROFILE names a local stack (test, ws1..ws4), but the addresses `names` were not filled in
 * from it (scripts/with-profile.sh does, behind `npm run ledgerctl`): the command would act
 * on the dev stack's defaults, silently, while the operator believes it acts on the profile's.
 */
export function unfilledProfileProblem(env: NodeJS.ProcessEnv, names: readonly string[]): string | null {
  const profile = env.LL_PROFILE?.trim();
  if (!profile || profile === 'dev' || env.LEDGERLINE_ENV?.trim() === 'production') return null;
  const unset = names.filter((name) => !env[name]?.trim());
  if (unset.length === 0) return null;
  const shown = JSON.stringify(profile.slice(0, 40));
  return (
    `LL_PROFILE=${shown} names a local stack, but ${unset.join(', ')} ${unset.length === 1 ? 'is' : 'are'} not set, so the dev stack's ` +
    `addresses would be used. Run it through npm (npm run ledgerctl -- ..., which fills them in from the profile), ` +
    `or eval "$(LL_PROFILE=${shown} bash infra/local/stack.sh env)" first`
  );
}

export function ledgerlineEnvVar() {
  return z.enum(LEDGERLINE_ENVS, { message: 'must be development, test or production' }).default('development');
}

/**
 * Shared secrets (the HS256 JWT secret, the command key) shorter than this can be brute-forced
 * offline from one captured token or one sealed message read off the topic.
 */
export const SECRET_BYTES_MIN = 32;

/**
 * Why the configuration is refused in production: one line per problem, each starting with
 * the variable to fix. Thrown by `refuseUnsafe` after every check has run, so one start
 * names everything at once.
 */
export class UnsafeConfigError extends ConfigError {
  override readonly name = 'UnsafeConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export function refuseUnsafe(problems: readonly string[]): void {
  if (problems.length > 0) throw new UnsafeConfigError(problems);
}

/** What the environment says about bearer tokens, before any default is applied. */
export interface JwtEnv {
  JWT_SECRET?: string | undefined;
  JWT_JWKS_URL?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_AUDIENCE?: string | undefined;
}

export interface JwtSettings {
  /** null: HS256 tokens are refused (401). */
  hs256Secret: string | null;
  jwksUrl: string | null;
  issuer: string | null;
  audience: string | null;
}

/**
 * Which keys verify tokens. HS256 is accepted only with a secret: the explicit JWT_SECRET,
 * or, outside production and only when no JWKS is configured, the development secret (so
 * `npm start` works with no env). A deployment that configures JWKS and forgets JWT_SECRET
 * therefore refuses HS256 instead of accepting tokens signed with the public dev secret.
 * In production, problems are pushed to `problems` (refuseUnsafe throws them).
 */
export function jwtSettings(ledgerlineEnv: LedgerlineEnv, env: JwtEnv, problems: string[]): JwtSettings {
  const secret = env.JWT_SECRET || undefined;
  const jwksUrl = env.JWT_JWKS_URL || null;
  const settings: JwtSettings = {
    hs256Secret: secret ?? (jwksUrl === null && ledgerlineEnv !== 'production' ? LOCAL_DEFAULTS.jwtSecret : null),
    jwksUrl,
    issuer: claimBindingOrProblem(ledgerlineEnv, 'JWT_ISSUER', env.JWT_ISSUER, problems),
    audience: claimBindingOrProblem(ledgerlineEnv, 'JWT_AUDIENCE', env.JWT_AUDIENCE, problems),
  };
  if (ledgerlineEnv !== 'production') return settings;
  // The most dangerous mistakes are listed last, where the eye lands.
  if (jwksUrl !== null && settings.issuer === null) {
    problems.push('JWT_ISSUER: required with JWT_JWKS_URL in production (without it a token the same key set issued for another application is accepted)');
  }
  if (jwksUrl !== null && settings.audience === null) {
    problems.push('JWT_AUDIENCE: required with JWT_JWKS_URL in production (without it a token the same key set issued for another application is accepted)');
  }
  if (jwksUrl !== null) problems.push(...keySetUrlProblems(jwksUrl));
  if (secret !== undefined) problems.push(...jwtSecretProblems(secret));
  else if (jwksUrl === null) {
    problems.push(
      `JWT_SECRET: not set, and JWT_JWKS_URL neither: production needs a random JWT_SECRET of at least ${SECRET_BYTES_MIN} bytes, or JWT_JWKS_URL with JWT_ISSUER and JWT_AUDIENCE`,
    );
  }
  return settings;
}

/** The longest JWT_ISSUER / JWT_AUDIENCE taken (an issuer URL or an audience name is far shorter). */
const JWT_CLAIM_BINDING_CHARS_MAX = 1024;

/**
 * JWT_ISSUER or JWT_AUDIENCE (or `ledgerctl token`'s --iss / --aud) as the value every token's
 * `iss` or `aud` must equal; null when unset. An empty or blank one, or one with white space
 * around it, matches no token anyone issues: the API would start and refuse everyone with 401,
 * and `ledgerctl token` would sign tokens for nobody (or, taking an empty one as unset, sign
 * tokens without the claim that the API, refusing it, never starts to check). Refused at start
 * instead, in every environment and in every app alike, naming the variable; so is one over
 * JWT_CLAIM_BINDING_CHARS_MAX characters or with a control character.
 */

export function jwtClaimBinding(variable: 'JWT_ISSUER' | 'JWT_AUDIENCE' | '--iss' | '--aud', value: string | undefined): string | null {
  if (value === undefined) return null;
  const claim = variable === 'JWT_ISSUER' || variable === '--iss' ? 'iss' : 'aud';
  if (value.trim() === '') throw new ConfigError(`${variable}: is blank; set the value every token's ${claim} must equal, or leave it unset`);
  if (value.trim() !== value) throw new ConfigError(`${variable}: starts or ends with white space (a copy-paste slip?); no token's claim would equal it`);
  // Bounded and printable like any other text the apps take: `ledgerctl token --iss` signs it
  // into a token, and a refused token's line may quote it.
  if (value.length > JWT_CLAIM_BINDING_CHARS_MAX || /\p{Cc}/u.test(value)) {
    throw new ConfigError(`${variable}: must be at most ${JWT_CLAIM_BINDING_CHARS_MAX} characters, without control characters`);
  }
  return value;
}

/** jwtClaimBinding, its refusal listed with the others in production (refuseUnsafe throws them all at once). */
function claimBindingOrProblem(ledgerlineEnv: LedgerlineEnv, variable: 'JWT_ISSUER' | 'JWT_AUDIENCE', value: string | undefined, problems: string[]): string | null {
  try {
    return jwtClaimBinding(variable, value);
  } catch (error) {
    if (ledgerlineEnv !== 'production' || !(error instanceof ConfigError)) throw error;
    problems.push(error.message);
    return value ?? null; // refused: kept as it is, so that no "required" problem repeats it
  }
}

/** A JWT_SECRET explicitly set to something an attacker knows or can guess. */
export function jwtSecretProblems(secret: string): string[] {
  return secretProblems('JWT_SECRET', secret, LOCAL_DEFAULTS.jwtSecret, 'the development secret printed in the README; anyone could sign an admin token');
}

/**
 * A shared secret set to the public development value (`misuse` says what anyone could then
 * do) or shorter than SECRET_BYTES_MIN: one line naming `variable`, or none.
 */
function secretProblems(variable: string, secret: string, developmentValue: string, misuse: string): string[] {
  if (secret.includes(developmentValue)) return [`${variable}: is ${misuse}: set a random one of at least ${SECRET_BYTES_MIN} bytes`];
  if (secret.trim() !== secret) return [`${variable}: starts or ends with white space (a copy-paste slip?); set the random value alone`];
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < SECRET_BYTES_MIN) return [`${variable}: is ${bytes} bytes; production needs at least ${SECRET_BYTES_MIN} random bytes (e.g. openssl rand -base64 48)`];
  const bits = Math.round(estimatedEntropyBits(secret));
  if (bits < SECRET_ENTROPY_BITS_MIN) {
    return [`${variable}: does not look random (about ${bits} bits, from how often each character repeats); production needs at least ${SECRET_BYTES_MIN} random bytes (e.g. openssl rand -base64 48)`];
  }
  return [];
}

/**
 * What a secret's own characters say about its randomness: its length times the Shannon
 * entropy of its character frequencies. An upper bound (a repeated phrase of varied letters
 * scores well), so it only catches the obvious: 32 times `a` is 0 bits, `abcd` repeated 64.
 * Base64 of 32 random bytes scores ~220, their 64 hex digits ~240; 16 random bytes as 32 hex
 * digits score 89-125 and may be refused (production asks for 32 random bytes).
 */
export function estimatedEntropyBits(secret: string): number {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / chars.length) * Math.log2(n / chars.length);
  return perChar * chars.length;
}

const SECRET_ENTROPY_BITS_MIN = 100;

/** What the environment says about the key that seals operator commands on Kafka. */
export interface CommandKeyEnv {
  LEDGERLINE_COMMAND_KEY?: string | undefined;
  LEDGERLINE_COMMAND_KEY_PREVIOUS?: string | undefined;
}

export interface CommandKeySettings {
  /** Seals (API) and verifies (workers). */
  current: string;
  /** Still verify, while messages sealed with them may be unapplied (rotation). */
  previous: string[];
}

/**
 * The key the ingest API seals operator commands with and the workers verify them by
 * (docs/security.md "Commands on Kafka"). Outside production the development key applies;
 * production refuses to start without a random key of its own, because anyone holding the
 * key can write deposits to the commands topic.
 */
export function commandKeySettings(ledgerlineEnv: LedgerlineEnv, env: CommandKeyEnv, problems: string[]): CommandKeySettings {
  const key = env.LEDGERLINE_COMMAND_KEY || undefined;
  const previous = (env.LEDGERLINE_COMMAND_KEY_PREVIOUS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  const settings = { current: key ?? LOCAL_DEFAULTS.commandKey, previous };
  if (ledgerlineEnv !== 'production') return settings;
  if (key === undefined) {
    problems.push(`LEDGERLINE_COMMAND_KEY: not set; production needs a random key of at least ${SECRET_BYTES_MIN} bytes, the same in the API and every worker (e.g. openssl rand -base64 48)`);
  } else {
    problems.push(...secretProblems('LEDGERLINE_COMMAND_KEY', key, LOCAL_DEFAULTS.commandKey, 'the development key; anyone could seal a deposit'));
  }
  // A previous key still verifies seals: as weak a door as the current one.
  for (const old of previous) {
    problems.push(...secretProblems('LEDGERLINE_COMMAND_KEY_PREVIOUS', old, LOCAL_DEFAULTS.commandKey, 'the development key (in the list); a message sealed with it would be accepted'));
  }
  return settings;
}

/**
 * A Postgres URL that logs in with the local stack's well-known credentials, read the way pg
 * reads it (pg-connection-string, pg's own parser: `?user=&password=` count too, and without
 * a password in the URL pg takes PGPASSWORD), or, for an app's URL, as the schema owner
 * (`appRole`: the app must connect as its own least-privileged role).
 */
export function databaseUrlProblems(name: string, url: string, env: NodeJS.ProcessEnv = {}, appRole = false): string[] {
  let user: string;
  let password: string;
  try {
    new URL(url); // pg-connection-string takes nearly anything; a URL it must be
    const parsed = parsePgUrl(url);
    user = parsed.user || env.PGUSER || '';
    password = parsed.password || env.PGPASSWORD || '';
  } catch {
    return [`${name}: is not a URL (postgres://user:password@host:port/database)`];
  }
  if (LOCAL_DATABASE_CREDENTIALS.some(([u, p]) => u === user && p === password)) {
    return [`${name}: uses the local stack's default credentials (${user}:${password}); production needs the role's own password`];
  }
  if (appRole && user === OWNER_ROLE) {
    return [`${name}: logs in as ${OWNER_ROLE}, the schema's owner; the app needs its own least-privileged role (docs/security.md)`];
  }
  return [];
}

const OWNER_ROLE = 'ledgerline_owner';

/**
 * A Redis URL ioredis can use: redis:// or rediss:// (TLS). Blank is unset (the default; in
 * production serviceAddressProblems refuses it).
 */
export function redisUrlVar(defaultValue: string) {
  return z
    .preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().default(defaultValue))
    .superRefine((text, ctx) => {
      const problem = redisUrlProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** Why ioredis would not read `text` as the server, credentials and database it seems to name, or null. */
function redisUrlProblem(text: string): string | null {
  // The scheme exactly as ioredis reads it: it turns TLS on only for a URL that begins
  // with `rediss://`, so `REDISS://` (which URL reads as rediss:) would pass production's
  // TLS check and connect in plain text (an outside review).
  // ioredis copies a URL's query into its options, over what the scheme means:
  // `rediss://host/?tls` set tls to "" and connected in plain text, password and all (an
  // outside review). The URL names the server and the credentials, nothing else.
  if ((!text.startsWith('redis://') && !text.startsWith('rediss://')) || !URL.canParse(text) || text.includes('?') || text.includes('#')) {
    return 'must be a redis:// or rediss:// URL (the scheme in lower case), without a query or fragment';
  }
  // The path is the database number, which ioredis takes with parseInt: `/1abc` was database
  // 1 and `/ledger` database 0, silently, and a number beyond the server's databases fails
  // its SELECT and leaves the connection on 0 (an outside review). Redis has 16 by default.
  const path = new URL(text).pathname;
  if (path !== '' && path !== '/' && !(/^\/(0|[1-9][0-9]?)$/.test(path) && Number(path.slice(1)) < REDIS_DATABASES)) {
    return `must name no database or one from 0 to ${REDIS_DATABASES - 1} in decimal digits after the port (/0 to /${REDIS_DATABASES - 1})`;
  }
  return null;
}

/** Databases a Redis server has unless its `databases` setting says otherwise. */
const REDIS_DATABASES = 16;

/**
 * The services whose addresses default to the local stack. In production each must be given:
 * with a default, an app that was deployed without one would quietly talk to whatever listens
 * on 127.0.0.1 (a sidecar, another tenant's broker) instead of refusing to start.
 */
const LOCAL_SERVICE_ADDRESSES = { KAFKA_BROKERS: LOCAL_DEFAULTS.kafkaBrokers, REDIS_URL: LOCAL_DEFAULTS.redisUrl } as const;

/** KAFKA_BROKERS and REDIS_URL left unset (production only calls this). */
export function serviceAddressProblems(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(LOCAL_SERVICE_ADDRESSES)
    .filter(([name]) => !env[name]?.trim())
    .map(([name, local]) => `${name}: not set; production needs your own (the default, ${local}, is the local stack)`);
}

// ---------------------------------------------------------------------------------------------
// Kafka topics
// ---------------------------------------------------------------------------------------------

/**
 * How topics are created and what the API insists on finding. Optional in the schema because
 * the defaults depend on LEDGERLINE_ENV (`kafkaDurability`).
 */
export const kafkaDurabilityVars = {
  /** Copies of each partition. 1 only where losing one disk is acceptable (dev, test). */
  KAFKA_REPLICATION_FACTOR: decimalIntVar(1, 16).optional(),
  /** With acks=all, a write is acknowledged once this many replicas have it. */
  KAFKA_MIN_INSYNC_REPLICAS: decimalIntVar(1, 16).optional(),
  /**
   * How long the commands and events topics keep messages. A command must still be there
   * when its partition's worker comes back: keep it well above the longest outage you plan for.
   */
  KAFKA_RETENTION_MS: intVar(7 * 86_400_000, 3_600_000, 3_650 * 86_400_000),
  /** The dead-letter topic keeps poison messages longer: someone has to look at them. */
  KAFKA_DEAD_LETTER_RETENTION_MS: intVar(30 * 86_400_000, 3_600_000, 3_650 * 86_400_000),
};

/**
 * OpenTelemetry tracing (README, "Tracing"): off unless OTEL_TRACING=on. Where the spans go
 * is the OTLP exporter's own business, set by its standard variables
 * (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318, or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_EXPORTER_OTLP_HEADERS), read by the exporter.
 */
export const tracingVars = {
  /** ledgerline's one switch for tracing: `on` starts the SDK at start-up; `off` (the default) never does. */
  OTEL_TRACING: z.enum(['on', 'off'], { message: 'must be on or off' }).default('off'),
  /** `service.name` of the spans; unset: the app's own name. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

export interface TracingConfig {
  enabled: boolean;
  serviceName: string;
}

export function tracingConfig(raw: { OTEL_TRACING: 'on' | 'off'; OTEL_SERVICE_NAME?: string | undefined }, appName: string): TracingConfig {
  return { enabled: raw.OTEL_TRACING === 'on', serviceName: raw.OTEL_SERVICE_NAME ?? appName };
}

/**
 * How the apps reach a shared broker (docs/security.md): TLS, and a SASL user per app.
 * Unset: plaintext, no authentication (the local stack).
 */
export const kafkaSecurityVars = {
  KAFKA_SSL: boolVar(false),
  /** PEM of the CA that signed the brokers' certificates; unset: the system CAs. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], { message: 'must be plain, scram-sha-256 or scram-sha-512' }).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
};

export interface KafkaSecurity {
  ssl: boolean;
  sslCaFile: string | null;
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
}

export function kafkaSecurity(
  ledgerlineEnv: LedgerlineEnv,
  raw: { KAFKA_SSL: boolean; KAFKA_SSL_CA_FILE?: string | undefined; KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined; KAFKA_SASL_USERNAME?: string | undefined; KAFKA_SASL_PASSWORD?: string | undefined },
  problems: string[],
): KafkaSecurity {
  const mechanism = raw.KAFKA_SASL_MECHANISM;
  if (mechanism !== undefined && (!raw.KAFKA_SASL_USERNAME || !raw.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError('KAFKA_SASL_USERNAME: KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  }
  // The other way round too: credentials without a mechanism were ignored, and the app
  // connected without authenticating, to a listener that allows it (an outside review).
  if (mechanism === undefined && (raw.KAFKA_SASL_USERNAME || raw.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError('KAFKA_SASL_MECHANISM: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512); unset, they would be ignored');
  }
  // A CA file alone turns TLS on (kafkajs gets `ssl: { ca }`). The SASL check read
  // KAFKA_SSL alone and refused that configuration as "SASL without TLS" (an outside review).
  const ssl = raw.KAFKA_SSL || raw.KAFKA_SSL_CA_FILE !== undefined;
  if (mechanism !== undefined && !ssl && ledgerlineEnv === 'production') {
    problems.push('KAFKA_SSL: SASL without TLS sends the credentials (plain) and every message in the clear: set KAFKA_SSL=true');
  }
  return {
    ssl,
    sslCaFile: raw.KAFKA_SSL_CA_FILE ?? null,
    sasl: mechanism === undefined ? null : { mechanism, username: raw.KAFKA_SASL_USERNAME!, password: raw.KAFKA_SASL_PASSWORD! },
  };
}

/**
 * The Kafka client's own timing, the same names in every app. A restarting broker should fail
 * a request, not hang it; kafkajs retries a failed request with a backoff that grows from
 * the first delay to the cap, `KAFKA_RETRIES` times, before the caller sees the error.
 */
export const kafkaClientVars = {
  /** Time to open a connection to a broker, in ms. */
  KAFKA_CONNECTION_TIMEOUT_MS: intVar(3_000, 100, 60_000),
  /** Time a broker has to answer one request, in ms. */
  KAFKA_REQUEST_TIMEOUT_MS: intVar(10_000, 100, 120_000),
  /** Retries of a failed request before it fails (kafkajs `retry.retries`). */
  KAFKA_RETRIES: intVar(8, 0, 100),
  /** The first retry's delay, in ms (kafkajs `retry.initialRetryTime`). */
  KAFKA_RETRY_DELAY_FIRST_MS: intVar(100, 1, 60_000),
  /** The longest delay between retries, in ms (kafkajs `retry.maxRetryTime`). */
  KAFKA_RETRY_DELAY_MAX_MS: intVar(2_000, 1, 300_000),
};

export interface KafkaClientTuning {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: { retries: number; delayFirstMs: number; delayMaxMs: number };
}

export function kafkaClientTuning(raw: {
  KAFKA_CONNECTION_TIMEOUT_MS: number;
  KAFKA_REQUEST_TIMEOUT_MS: number;
  KAFKA_RETRIES: number;
  KAFKA_RETRY_DELAY_FIRST_MS: number;
  KAFKA_RETRY_DELAY_MAX_MS: number;
}): KafkaClientTuning {
  if (raw.KAFKA_RETRY_DELAY_FIRST_MS > raw.KAFKA_RETRY_DELAY_MAX_MS) {
    throw new ConfigError(`KAFKA_RETRY_DELAY_FIRST_MS: ${raw.KAFKA_RETRY_DELAY_FIRST_MS} is more than KAFKA_RETRY_DELAY_MAX_MS=${raw.KAFKA_RETRY_DELAY_MAX_MS}`);
  }
  return {
    connectionTimeoutMs: raw.KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeoutMs: raw.KAFKA_REQUEST_TIMEOUT_MS,
    retry: { retries: raw.KAFKA_RETRIES, delayFirstMs: raw.KAFKA_RETRY_DELAY_FIRST_MS, delayMaxMs: raw.KAFKA_RETRY_DELAY_MAX_MS },
  };
}

export interface KafkaDurability {
  replicationFactor: number;
  minInsyncReplicas: number;
  retentionMs: number;
  deadLetterRetentionMs: number;
}

/**
 * Production defaults to 3 replicas, 2 in sync (one broker may fail); dev and test to 1 and 1.
 * Production refuses fewer than 2 in sync, given or implied: with one, a 202 rests on one
 * broker's disk, and losing that broker loses commands the API has acknowledged.
 */
export function kafkaDurability(
  ledgerlineEnv: LedgerlineEnv,
  raw: { KAFKA_REPLICATION_FACTOR?: number | undefined; KAFKA_MIN_INSYNC_REPLICAS?: number | undefined; KAFKA_RETENTION_MS: number; KAFKA_DEAD_LETTER_RETENTION_MS: number },
  problems: string[],
): KafkaDurability {
  const production = ledgerlineEnv === 'production';
  const replicationFactor = raw.KAFKA_REPLICATION_FACTOR ?? (production ? 3 : 1);
  const minInsyncReplicas = raw.KAFKA_MIN_INSYNC_REPLICAS ?? Math.min(production ? 2 : 1, replicationFactor);
  if (minInsyncReplicas > replicationFactor) {
    throw new ConfigError(
      `KAFKA_MIN_INSYNC_REPLICAS: ${minInsyncReplicas} is more than KAFKA_REPLICATION_FACTOR=${replicationFactor}; no write could ever be acknowledged`,
    );
  }
  if (production && minInsyncReplicas < PRODUCTION_INSYNC_REPLICAS_MIN) {
    const variable = raw.KAFKA_MIN_INSYNC_REPLICAS === undefined ? `KAFKA_REPLICATION_FACTOR: is ${replicationFactor}, so` : 'KAFKA_MIN_INSYNC_REPLICAS: is 1, so';
    problems.push(
      `${variable} one broker acknowledges a command alone and losing it loses acknowledged commands; production needs KAFKA_MIN_INSYNC_REPLICAS >= ${PRODUCTION_INSYNC_REPLICAS_MIN} (and as many replicas)`,
    );
  }
  return { replicationFactor, minInsyncReplicas, retentionMs: raw.KAFKA_RETENTION_MS, deadLetterRetentionMs: raw.KAFKA_DEAD_LETTER_RETENTION_MS };
}

/** In-sync replicas production requires: a 202 survives the loss of any one broker. */
const PRODUCTION_INSYNC_REPLICAS_MIN = 2;

/**
 * How a process reports a configuration it will not start with: the message alone (no
 * stack), so the last line printed names the variable to fix.
 */
export function describeStartFailure(app: string, error: unknown): string {
  if (error instanceof UnsafeConfigError) {
    return `${app}: refusing to start with LEDGERLINE_ENV=production:\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`;
  }
  if (error instanceof ConfigError) return `${app}: ${error.message}\n`;
  return `${app} failed to start: ${(error as Error)?.stack ?? String(error)}\n`;
}
export * from './network';
export * from './transport';
export * from './stop-signals';
