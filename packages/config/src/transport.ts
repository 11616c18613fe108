/**
 * Encrypted connections in production. Every command, balance and credential the apps send
 * to Postgres, Redis and Kafka crosses the network; in the clear, anyone on the path reads
 * them and can change them. Production therefore refuses a connection to another host that
 * is not TLS with a verified certificate: Postgres `sslmode=verify-full` (or `require`,
 * which node-pg verifies the same way), `rediss://`, `KAFKA_SSL=true`. A connection to this
 * host (loopback, a Unix socket) stays allowed: it never leaves the machine.
 *
 * Where the network itself is encrypted (a service mesh's sidecar, WireGuard), the operator
 * says so, per dependency: `LEDGERLINE_PLAINTEXT_ALLOWED=postgres,redis,kafka`. A deliberate
 * choice, written down in the deployment, rather than a default nobody chose.
 */
import { isIP } from 'node:net';
import { parse as parsePgUrl } from 'pg-connection-string';

export const PLAINTEXT_ALLOWED_VAR = 'LEDGERLINE_PLAINTEXT_ALLOWED';
const DEPENDENCIES = ['postgres', 'redis', 'kafka'] as const;
type Dependency = (typeof DEPENDENCIES)[number];

/** The connections an app makes, as its configuration gives them. */
export interface AppConnections {
  /** [variable, URL] of each Postgres URL the app uses. */
  postgres?: readonly (readonly [string, string])[];
  redisUrl?: string;
  kafka?: { brokers: readonly string[]; ssl: boolean };
}

/** One line per connection production refuses (see the top); `env` for PG* and the opt-out. */
export function plaintextProblems(connections: AppConnections, env: NodeJS.ProcessEnv): string[] {
  const { allowed, problems } = allowedPlaintext(env[PLAINTEXT_ALLOWED_VAR]);
  const optOut = (dependency: Dependency) => `, or ${PLAINTEXT_ALLOWED_VAR}=${dependency} if the network between them is encrypted`;
  if (!allowed.has('postgres')) {
    for (const [name, url] of connections.postgres ?? []) {
      const problem = postgresProblem(url, env);
      if (problem) problems.push(`${name}: ${problem}; production needs sslmode=verify-full${optOut('postgres')}`);
    }
  }
  if (!allowed.has('redis') && connections.redisUrl !== undefined) {
    const url = new URL(connections.redisUrl);
    if (url.protocol === 'redis:' && !isThisHost(url.hostname)) {
      problems.push(`REDIS_URL: connects to ${url.hostname} without TLS; production needs rediss://${optOut('redis')}`);
    }
  }
  if (!allowed.has('kafka') && connections.kafka && !connections.kafka.ssl) {
    const remote = connections.kafka.brokers.map((broker) => broker.slice(0, broker.lastIndexOf(':'))).filter((host) => !isThisHost(host));
    if (remote.length > 0) problems.push(`KAFKA_SSL: the brokers (${remote.join(', ')}) are reached without TLS; production needs KAFKA_SSL=true${optOut('kafka')}`);
  }
  return problems;
}

/**
 * The key set the API trusts tokens by: fetched over plain HTTP from another host, anyone on
 * the path can swap it and sign a token for any principal. https:// is required (a loopback
 * address passes, a sidecar's); there is no opt-out.
 */
export function keySetUrlProblems(jwksUrl: string): string[] {
  const url = new URL(jwksUrl);
  if (url.protocol === 'https:' || isThisHost(url.hostname)) return [];
  return [`JWT_JWKS_URL: fetches the key set from ${url.hostname} without TLS; production needs https:// (a key set swapped on the way signs a token for anyone)`];
}

function allowedPlaintext(text: string | undefined): { allowed: Set<Dependency>; problems: string[] } {
  const allowed = new Set<Dependency>();
  const problems: string[] = [];
  for (const item of (text ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if ((DEPENDENCIES as readonly string[]).includes(item)) allowed.add(item as Dependency);
    else problems.push(`${PLAINTEXT_ALLOWED_VAR}: "${item.slice(0, 64)}" is not one of ${DEPENDENCIES.join(', ')}`);
  }
  return { allowed, problems };
}

/** Why this Postgres URL would be read or changed on the way (read as node-pg reads it), or null. */
function postgresProblem(url: string, env: NodeJS.ProcessEnv): string | null {
  let parsed: ReturnType<typeof parsePgUrl>;
  try {
    parsed = parsePgUrl(url);
  } catch {
    return null; // databaseUrlProblems names a URL that does not parse
  }
  const host = parsed.host || env.PGHOST || 'localhost';
  if (isThisHost(host)) return null;
  // Without sslmode in the URL, node-pg takes PGSSLMODE (and without either, no TLS).
  const ssl = parsed.ssl ?? sslOfMode(env.PGSSLMODE);
  if (ssl === undefined || ssl === false) return `connects to ${host} without TLS`;
  // no-verify, and libpq's require/verify-ca under uselibpqcompat=true (pg-connection-string
  // then replaces the host name check with one that passes everything).
  if (typeof ssl === 'object' && (ssl.rejectUnauthorized === false || typeof (ssl as { checkServerIdentity?: unknown }).checkServerIdentity === 'function')) {
    return `connects to ${host} over TLS without checking its certificate or its host name`;
  }
  return null;
}

/** PGSSLMODE as node-pg reads it (readSSLConfigFromEnvironment): any other value, `allow` or `REQUIRE` included, is no TLS. */
function sslOfMode(mode: string | undefined): boolean | { rejectUnauthorized: false } | undefined {
  switch (mode) {
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return true;
    case 'no-verify':
      return { rejectUnauthorized: false };
    default:
      return undefined;
  }
}

/**
 * [variable, host] of every connection that leaves this machine (loopback and Unix sockets
 * left out), read as the apps read their URLs.
 */
export function hostsBeyondThisMachine(connections: AppConnections, env: NodeJS.ProcessEnv): [string, string][] {
  const hosts: [string, string][] = [];
  for (const [name, url] of connections.postgres ?? []) {
    let host: string;
    try {
      host = parsePgUrl(url).host || env.PGHOST || 'localhost';
    } catch {
      continue; // databaseUrlProblems names a URL that does not parse
    }
    hosts.push([name, host]);
  }
  if (connections.redisUrl !== undefined) hosts.push(['REDIS_URL', new URL(connections.redisUrl).hostname]);
  for (const broker of connections.kafka?.brokers ?? []) hosts.push(['KAFKA_BROKERS', broker.slice(0, broker.lastIndexOf(':'))]);
  return hosts.filter(([, host]) => !isThisHost(host));
}

/** Loopback or a Unix socket: the connection does not leave the machine. */
export function isThisHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name.startsWith('/')) return true;
  if (name === 'localhost') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || /^::ffff:127\./.test(name);
  return false;
}
