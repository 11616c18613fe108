/**
 * Encrypted connections in production. Every command, balance and credential the apps send
 * to Postgres, Redis and Kafka crosses the network; in the clear, anyone on the path reads
 * them and can change them. Production therefore refuses a connection to another host that
 * is not TLS with a verified certificate: Postgres `sslmode=verify-full` (or `require`,
 * which node-pg verifies the same way), `rediss://`, `KAFKA_SSL=true`. A connection to this
 * host (loopback, a Unix socket) stays allowed: it never leaves the machine. Kafka is the
 * exception: its bootstrap address only leads to the brokers the cluster advertises, which
 * may be anywhere, so production wants TLS to Kafka whatever KAFKA_BROKERS says.
 *
 * Where the network itself is encrypted (a service mesh's sidecar, WireGuard), the operator
 * says so, per dependency: `LEDGERLINE_PLAINTEXT_ALLOWED=postgres,redis,kafka,tracing`. A deliberate
 * choice, written down in the deployment, rather than a default nobody chose.
 *
 * NODE_TLS_REJECT_UNAUTHORIZED=0 turns off the certificate check of every one of these
 * connections at once (and of the JWKS fetch): production refuses it, with no opt-out.
 */
import { isIP } from 'node:net';
import { parse as parsePgUrl } from 'pg-connection-string';

export const PLAINTEXT_ALLOWED_VAR = 'LEDGERLINE_PLAINTEXT_ALLOWED';
const DEPENDENCIES = ['postgres', 'redis', 'kafka', 'tracing'] as const;
type Dependency = (typeof DEPENDENCIES)[number];

/** The connections an app makes, as its configuration gives them. */
export interface AppConnections {
  /** [variable, URL] of each Postgres URL the app uses. */
  postgres?: readonly (readonly [string, string])[];
  redisUrl?: string;
  kafka?: { brokers: readonly string[]; ssl: boolean };
  /** OTEL_TRACING=on: spans (URL paths with account and transfer ids, a collector's token) go to the OTLP endpoint. */
  tracing?: boolean;
}

/** One line per connection production refuses (see the top); `env` for PG* and the opt-out. */
export function plaintextProblems(connections: AppConnections, env: NodeJS.ProcessEnv): string[] {
  const { allowed, problems } = allowedPlaintext(env[PLAINTEXT_ALLOWED_VAR]);
  problems.push(...certificateCheckProblems(env));
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
  // Not by the bootstrap address: kafkajs asks KAFKA_BROKERS for the cluster's metadata only,
  // then produces and fetches at the host:port each broker advertises, with the same (lack
  // of) TLS. `127.0.0.1:9092` with brokers advertised as kafka-2.internal sent commands in the
  // clear to kafka-2 (an outside review); what a cluster advertises is only known after
  // connecting, and may change. So production wants TLS to Kafka, loopback bootstrap or not.
  if (!allowed.has('kafka') && connections.kafka && !connections.kafka.ssl) {
    const hosts = connections.kafka.brokers.map((broker) => broker.slice(0, broker.lastIndexOf(':')));
    const remote = hosts.filter((host) => !isThisHost(host));
    problems.push(
      remote.length > 0
        ? `KAFKA_SSL: the brokers (${remote.join(', ')}) are reached without TLS; production needs KAFKA_SSL=true${optOut('kafka')}`
        : `KAFKA_SSL: the bootstrap brokers (${hosts.join(', ')}) are on this machine, but the client then connects to every broker the cluster advertises, ` +
            `without TLS, wherever it is; production needs KAFKA_SSL=true${optOut('kafka')} (or every broker is on this machine)`,
    );
  }
  if (!allowed.has('tracing') && connections.tracing) {
    const problem = otlpEndpointProblem(env, optOut('tracing'));
    if (problem) problems.push(problem);
  }
  return problems;
}

/**
 * Where the OTLP exporter sends spans, read as it reads it (the traces endpoint, else the
 * general one, else http://localhost:4318), when that is another host in the clear (an outside
 * security review: production let spans and the collector's token travel unencrypted).
 */
function otlpEndpointProblem(env: NodeJS.ProcessEnv, optOut: string): string | null {
  const [name, value] = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT]
    : ['OTEL_EXPORTER_OTLP_ENDPOINT', env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318'];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name}: is not a URL`;
  }
  if (url.protocol === 'https:' || isThisHost(url.hostname)) return null;
  return `${name}: sends spans (request paths, ids) and OTEL_EXPORTER_OTLP_HEADERS to ${url.hostname} without TLS; production needs https://${optOut}`;
}

/**
 * Node reads NODE_TLS_REJECT_UNAUTHORIZED=0 as "accept any certificate" for every TLS client
 * that leaves `rejectUnauthorized` unset: node-pg, ioredis, kafkajs and jose's JWKS fetch all
 * do. The check production asks of each connection would then pass and check nothing (an
 * outside review). `0` is refused, and so is any value that does not read as "on": Node
 * disables checks only for `0`, but a `false` or `no` says the operator meant to. `1`, `true`,
 * `yes` and `on` (any case) say the checks stay on, which they do (an outside review of the
 * change: `true` was refused as if it turned them off).
 */
const CHECKS_ON = new Set(['', '1', 'true', 'yes', 'on']);

function certificateCheckProblems(env: NodeJS.ProcessEnv): string[] {
  const value = env.NODE_TLS_REJECT_UNAUTHORIZED;
  if (value === undefined || CHECKS_ON.has(value.trim().toLowerCase())) return [];
  return [
    `NODE_TLS_REJECT_UNAUTHORIZED: is ${JSON.stringify(value.slice(0, 16))}${value === '0' ? ', which turns off' : ', which looks meant to turn off'} ` +
      'the certificate check of every TLS connection (Postgres, Redis, Kafka, the JWKS fetch); production checks them: unset it (or give the CA: sslrootcert, KAFKA_SSL_CA_FILE)',
  ];
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
  // Without any ssl parameter in the URL, node-pg takes PGSSLMODE (and without either, no TLS).
  const ssl = parsed.ssl ?? sslOfMode(env.PGSSLMODE);
  // pg-connection-string makes `ssl=true` and `ssl=1` true and `ssl=0` false, and leaves any
  // other `ssl` value a string, which node-pg reads on its own terms (connection-parameters.js,
  // client.js): `no-verify` is TLS without any check, an empty value (`?ssl=${PG_SSL}` with
  // the variable unset) no TLS at all. Both passed this check (an outside review). Any other
  // string (`false`, `require`) is refused too: node-pg defines no meaning for it (`false`
  // happens to give TLS), so the URL does not say what it gets.
  if (typeof ssl === 'string') {
    if (ssl === 'no-verify') return `connects to ${host} over TLS without checking its certificate or its host name (ssl=no-verify)`;
    if (ssl === '') return `connects to ${host} without TLS (an empty ssl= is no TLS to node-pg)`;
    return `gives ssl=${JSON.stringify(ssl.slice(0, 32))}, which node-pg does not define (true, 1, 0 and no-verify only), for ${host}`;
  }
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
 * left out), read as the apps read their URLs. For Kafka only the bootstrap addresses can be
 * judged before connecting (the brokers the cluster advertises are not known yet).
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
