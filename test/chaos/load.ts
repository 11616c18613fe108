/**
 * The load: realistic clients of the HTTP API, every request written into the books.
 *
 *   - concurrent load (open loop, `--rate` requests/s, at most IN_FLIGHT_MAX at once):
 *     mostly cross-partition transfers between many accounts spread over all partitions,
 *     transfers from and to one hot account, deposits, withdrawals, deliberate duplicate
 *     sends of acknowledged requests (same key, same body), status reads (long poll) and
 *     bad requests;
 *   - sequential clients: each sends strictly one request at a time (the next only after
 *     the previous got a definite answer), in rounds of deposit 100, transfer 60, transfer
 *     60, transfer 40 from its own account, whose outcomes depend on the order they apply in
 *     (COMPLETED, REJECTED INSUFFICIENT_FUNDS, COMPLETED).
 *
 * A request that gets no definite answer (timeout, reset, refused connection, 429, 5xx) is
 * retried with the SAME Idempotency-Key and body, with capped jittered backoff, until it gets
 * one or the run's hard stop; then it stays in the books as unknown.
 *
 * Well-formed requests (opening accounts, movements, their replays, status reads) go through
 * the typed client generated from /openapi.json (@ledgerline/client), so the load speaks the
 * contract as declared: a path, parameter or body it does not declare fails to compile. The
 * deliberate bad requests are sent raw: no typed client would send them.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { AMOUNT_MAX, USER_BALANCE_MAX, accountIdFor, type RoutingTable } from '@ledgerline/domain';
import { signDevToken } from '@ledgerline/auth';
import { type LedgerlineClient, type MovementRequest, type TransferRequest, ledgerlineClient } from '@ledgerline/client';
import { type Attempt, type LedgerBooks, type MovementKind, type MovementRecord, isRetryable, isSuccess } from './ledger-books';
import { type Rng, sleep } from './random';

export interface Principal {
  name: string;
  token: string;
}

export type AccountRole = 'random' | 'hot' | 'sequential' | 'brim';

/** The books' client name of the deposits into the brim account (World.brim). */
export const OVERFLOW_CLIENT = 'overflow';

export interface AccountInfo {
  id: string;
  owner: Principal;
  partition: number;
  overdraftLimit: bigint;
  role: AccountRole;
}

export interface SequentialClient {
  name: string;
  principal: Principal;
  account: AccountInfo;
  destinations: AccountInfo[];
}

export interface World {
  apiUrl: string;
  admin: Principal;
  owners: Principal[];
  /** Tokens the bad requests need: read-only scope, signed with another secret, expired. */
  readOnly: Principal;
  wrongSecretToken: string;
  expiredToken: string;
  /** Correctly signed, but its `sub` holds a lone UTF-16 surrogate: must be a 400. */
  malformedSubToken: string;
  random: AccountInfo[];
  /**
   * Filled to within less than one AMOUNT_MAX of USER_BALANCE_MAX at setup, and touched by
   * nothing else: every later deposit of AMOUNT_MAX into it must end REJECTED with
   * BALANCE_LIMIT_EXCEEDED, and the partition must keep applying.
   */
  brim: AccountInfo;
  hot: AccountInfo;
  sequential: SequentialClient[];
}

export interface LoadShape {
  ownersCount: number;
  randomAccountsCount: number;
  sequentialClientsCount: number;
  partitionCount: number;
  /** Minor units deposited into each random account before the load starts. */
  initialBalance: bigint;
  hotInitialBalance: bigint;
}

export const DEFAULT_SHAPE: LoadShape = {
  ownersCount: 12,
  randomAccountsCount: 64,
  sequentialClientsCount: 6,
  partitionCount: 8,
  initialBalance: 20_000n,
  hotInitialBalance: 5_000_000n,
};

/** Concurrent-load requests in progress at most; beyond it the generator waits (sheds ticks). */
const IN_FLIGHT_MAX = 200;
/** A POST not answered within this is an unknown outcome (the API's own Kafka bound is 5 s). */
const POST_TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS_MIN = 100;
const RETRY_DELAY_MS_MAX = 2_000;
/** Retry-After is honoured up to this. */
const RETRY_AFTER_MS_MAX = 3_000;
/** Wait of a status read (long poll); the request itself gets a few seconds more. */
const STATUS_WAIT_MS = 1_000;
const TOKEN_TTL_S = 6 * 3600;

// ---------------------------------------------------------------------------------------------
// Run control: when new requests stop and when retrying stops
// ---------------------------------------------------------------------------------------------

export class RunControl {
  issuing = true;
  private readonly hardStop = new AbortController();

  constructor(readonly clock: () => number) {
    // Every request in progress listens for the hard stop (hundreds at once under a fault).
    setMaxListeners(IN_FLIGHT_MAX * 10, this.hardStop.signal);
  }

  get signal(): AbortSignal {
    return this.hardStop.signal;
  }

  get hardStopped(): boolean {
    return this.hardStop.signal.aborted;
  }

  stopHard(): void {
    this.hardStop.abort();
  }

  /** Sleeps, but wakes at once on the hard stop. */
  async sleep(ms: number): Promise<void> {
    if (this.hardStopped) return;
    const signal = this.hardStop.signal;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/** A call of the typed client; `init` carries the Authorization header and the abort signal. */
type TypedCall = (
  api: LedgerlineClient,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  /** A well-formed request: sent by the typed client instead of from path, key and body. */
  call?: TypedCall;
  token?: string | null;
  /** The raw Authorization header, when a test wants a malformed one. */
  authorization?: string;
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  timeoutMs: number;
}

interface HttpAnswer {
  attempt: Attempt;
  retryAfterMs: number | null;
  json: unknown;
}

const typedClients = new Map<string, LedgerlineClient>();

function typedClient(apiUrl: string): LedgerlineClient {
  let client = typedClients.get(apiUrl);
  if (!client) typedClients.set(apiUrl, (client = ledgerlineClient({ baseUrl: apiUrl, token: null })));
  return client;
}

/** The typed client's call for a movement of the books (its path follows from its kind). */
function movementCall(record: MovementRecord): TypedCall {
  const header = { 'Idempotency-Key': record.key };
  // The books keep bodies as plain records; each was built as the type named here (satisfies).
  switch (record.kind) {
    case 'TRANSFER':
      return (api, init) => api.POST('/v1/transfers', { params: { header }, body: record.body as unknown as TransferRequest, ...init });
    case 'DEPOSIT':
      return (api, init) => api.POST('/v1/deposits', { params: { header }, body: record.body as unknown as MovementRequest, ...init });
    case 'WITHDRAWAL':
      return (api, init) => api.POST('/v1/withdrawals', { params: { header }, body: record.body as unknown as MovementRequest, ...init });
  }
}

export async function http(apiUrl: string, control: RunControl, request: HttpRequest): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (request.authorization !== undefined) headers.authorization = request.authorization;
  else if (request.token) headers.authorization = `Bearer ${request.token}`;
  if (request.key) headers['idempotency-key'] = request.key;
  let payload: string | undefined;
  if (request.rawBody !== undefined) payload = request.rawBody;
  else if (request.body !== undefined) payload = JSON.stringify(request.body);
  if (payload !== undefined) headers['content-type'] = request.contentType ?? 'application/json';
  const atMs = control.clock();
  const started = Date.now();
  try {
    const signal = AbortSignal.any([AbortSignal.timeout(request.timeoutMs), control.signal]);
    let response: Response;
    let json: unknown = null;
    if (request.call) {
      const answer = await request.call(typedClient(apiUrl), { headers, signal });
      response = answer.response;
      json = answer.data ?? (typeof answer.error === 'object' ? answer.error : null);
    } else {
      response = await fetch(`${apiUrl}${request.path}`, { method: request.method, headers, body: payload, signal });
      const text = await response.text();
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
    }
    const attempt: Attempt = { atMs, ms: Date.now() - started, status: response.status };
    const object = (json ?? {}) as { id?: unknown; status?: unknown; error?: { code?: unknown } };
    if (isSuccess(response.status)) {
      if (typeof object.id === 'string') attempt.id = object.id;
      if (typeof object.status === 'string') attempt.resourceStatus = object.status;
    } else if (typeof object.error?.code === 'string') {
      attempt.code = object.error.code;
    }
    const retryAfterHeader = response.headers.get('retry-after');
    if (retryAfterHeader !== null) attempt.retryAfter = retryAfterHeader;
    const retryAfter = Number(retryAfterHeader);
    return { attempt, json, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null };
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    const reason = control.hardStopped ? 'aborted at the run hard stop' : err.name === 'TimeoutError' ? `no answer within ${request.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return { attempt: { atMs, ms: Date.now() - started, status: null, error: reason }, json: null, retryAfterMs: null };
  }
}

/** Sends until a definite answer (2xx or a 4xx other than 429) or the hard stop. */
export async function untilDefinite(
  control: RunControl,
  rng: Rng,
  send: () => Promise<HttpAnswer>,
  record: (attempt: Attempt) => void,
): Promise<{ definite: boolean; last: HttpAnswer }> {
  for (let attemptNo = 0; ; attemptNo++) {
    const answer = await send();
    record(answer.attempt);
    if (!isRetryable(answer.attempt.status)) return { definite: true, last: answer };
    if (control.hardStopped) return { definite: false, last: answer };
    const backoff = Math.min(RETRY_DELAY_MS_MAX, RETRY_DELAY_MS_MIN * 2 ** Math.min(attemptNo, 5));
    const delay = answer.retryAfterMs !== null ? Math.min(answer.retryAfterMs, RETRY_AFTER_MS_MAX) : backoff;
    await control.sleep(delay * rng.between(0.5, 1.0));
    if (control.hardStopped) return { definite: false, last: answer };
  }
}

// ---------------------------------------------------------------------------------------------
// Setting up the world: principals, tokens, accounts spread over all partitions, funding
// ---------------------------------------------------------------------------------------------

export async function buildWorld(options: {
  apiUrl: string;
  jwtSecret: string;
  routing: RoutingTable;
  shape: LoadShape;
  rng: Rng;
  control: RunControl;
}): Promise<World> {
  const { jwtSecret, shape, rng, routing, control, apiUrl } = options;
  const token = (sub: string, scope: string) => signDevToken({ sub, scope, secret: jwtSecret, ttlS: TOKEN_TTL_S });
  const userScope = 'ledger:read ledger:write';
  const admin: Principal = { name: 'chaos-admin', token: await token('chaos-admin', 'ledger:read ledger:write ledger:admin') };
  const owners: Principal[] = [];
  for (let i = 0; i < shape.ownersCount; i++) {
    const name = `owner-${String(i).padStart(2, '0')}`;
    owners.push({ name, token: await token(name, userScope) });
  }
  const readOnly: Principal = { name: 'reader', token: await token('reader', 'ledger:read') };
  const wrongSecretToken = await signDevToken({ sub: 'owner-00', scope: userScope, secret: `${jwtSecret}-not`, ttlS: TOKEN_TTL_S });
  const expiredToken = await signDevToken({ sub: 'owner-00', scope: userScope, secret: jwtSecret, ttlS: 60, nowS: Math.floor(Date.now() / 1000) - 3600 });
  const malformedSubToken = await token('owner-\udc00', userScope);

  const open = async (owner: Principal, partition: number, role: AccountRole, overdraftLimit: bigint, label: string): Promise<AccountInfo> => {
    // Search for an Idempotency-Key whose derived account id routes to the wanted partition,
    // so that every partition gets its share of accounts whatever the hash does.
    let key = '';
    let id = '';
    for (let n = 0; ; n++) {
      key = `open.${label}.${n}`;
      id = accountIdFor(owner.name, key);
      if (routing.partitionOf(id) === partition) break;
    }
    const body = { currency: 'USD', overdraft_limit: overdraftLimit.toString(), metadata: { chaos: label } };
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await http(apiUrl, control, {
        method: 'POST',
        path: '/v1/accounts',
        call: (api, init) => api.POST('/v1/accounts', { params: { header: { 'Idempotency-Key': key } }, body, ...init }),
        token: owner.token,
        timeoutMs: POST_TIMEOUT_MS,
      });
      const status = answer.attempt.status;
      if (status === 200 || status === 201) {
        if (answer.attempt.id !== id) throw new Error(`account ${label}: API answered id ${answer.attempt.id}, expected ${id}`);
        return { id, owner, partition, overdraftLimit, role };
      }
      if (!isRetryable(status) || Date.now() > deadline) {
        throw new Error(`account ${label}: POST /v1/accounts answered ${status ?? answer.attempt.error} ${JSON.stringify(answer.json)}`);
      }
      await sleep(300);
    }
  };

  const random: AccountInfo[] = [];
  const opening: Promise<AccountInfo>[] = [];
  for (let i = 0; i < shape.randomAccountsCount; i++) {
    // A quarter of the accounts may go below zero, down to their limit. Credit is granted,
    // not taken: only an admin may open an account with an overdraft, so those belong to it.
    const limit = i % 4 === 0 ? 5_000n : 0n;
    const owner = limit > 0n ? admin : owners[i % owners.length]!;
    opening.push(open(owner, i % shape.partitionCount, 'random', limit, `acct-${i}`));
  }
  random.push(...(await Promise.all(opening)));
  const hotOwner: Principal = { name: 'hot-owner', token: await token('hot-owner', userScope) };
  const hot = await open(hotOwner, rng.int(0, shape.partitionCount - 1), 'hot', 0n, 'hot');
  const brim = await open(hotOwner, rng.int(0, shape.partitionCount - 1), 'brim', 0n, 'brim');

  const sequential: SequentialClient[] = [];
  for (let i = 0; i < shape.sequentialClientsCount; i++) {
    const name = `seq-${i}`;
    const principal: Principal = { name, token: await token(name, userScope) };
    const partition = (i * 3 + 1) % shape.partitionCount;
    const account = await open(principal, partition, 'sequential', 0n, name);
    // Mostly other partitions (the saga path), one destination on the same partition.
    const others = random.filter((a) => a.partition !== partition);
    const same = random.filter((a) => a.partition === partition);
    const destinations = [rng.pick(others), rng.pick(others), same.length > 0 && i % 2 === 0 ? rng.pick(same) : rng.pick(others)];
    sequential.push({ name, principal, account, destinations });
  }
  return { apiUrl, admin, owners, readOnly, wrongSecretToken, expiredToken, malformedSubToken, random, hot, brim, sequential };
}

/** Deposits the initial balances (through the API, into the books); returns their ids. */
export async function fund(world: World, books: LedgerBooks, control: RunControl, rng: Rng, shape: LoadShape): Promise<MovementRecord[]> {
  // The brim account takes as many deposits of AMOUNT_MAX as fit under USER_BALANCE_MAX
  // (4,611); all funding goes FUNDING_CONCURRENCY deposits at a time.
  const brimFill = Array.from({ length: Number(USER_BALANCE_MAX / AMOUNT_MAX) }, (): [AccountInfo, bigint] => [world.brim, AMOUNT_MAX]);
  const targets: [AccountInfo, bigint][] = [
    ...world.random.map((a): [AccountInfo, bigint] => [a, shape.initialBalance]),
    [world.hot, shape.hotInitialBalance],
    ...brimFill,
  ];
  const records: MovementRecord[] = [];
  for (let from = 0; from < targets.length; from += FUNDING_CONCURRENCY) {
    records.push(...(await fundSome(targets.slice(from, from + FUNDING_CONCURRENCY), from)));
  }
  const failed = records.filter((r) => r.outcome !== 'acknowledged');
  if (failed.length > 0) throw new Error(`${failed.length} funding deposits were not acknowledged (first: ${JSON.stringify(failed[0]!.attempts.slice(-1))})`);
  return records;

  function fundSome(some: [AccountInfo, bigint][], offset: number): Promise<MovementRecord[]> {
    return Promise.all(some.map(async ([account, amount], j) => {
      const i = offset + j;
      const record = books.movement({
        client: 'setup',
        principal: world.admin.name,
        key: `fund.${i}`,
        kind: 'DEPOSIT',
        body: { account_id: account.id, amount: amount.toString(), currency: 'USD' } satisfies MovementRequest,
      });
      await sendMovement(world, books, control, rng, record, world.admin);
      return record;
    }));
  }
}

/** Funding deposits in flight at once at most (thousands at once only time out). */
const FUNDING_CONCURRENCY = 100;

async function sendMovement(world: World, books: LedgerBooks, control: RunControl, rng: Rng, record: MovementRecord, principal: Principal): Promise<void> {
  const { definite } = await untilDefinite(
    control,
    rng,
    () => http(world.apiUrl, control, { method: 'POST', path: record.path, call: movementCall(record), token: principal.token, timeoutMs: POST_TIMEOUT_MS }),
    (attempt) => books.recordAttempt(record, attempt),
  );
  if (!definite) books.giveUp(record);
}

// ---------------------------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------------------------

type Operation = 'transfer' | 'hot-transfer' | 'deposit' | 'withdrawal' | 'replay' | 'bad' | 'overflow' | 'status';

/** Relative weights of the concurrent load's operations. */
const OPERATION_WEIGHTS: readonly [Operation, number][] = [
  ['transfer', 50],
  ['hot-transfer', 12],
  ['deposit', 8],
  ['withdrawal', 7],
  ['replay', 6],
  ['bad', 9],
  ['overflow', 1],
  ['status', 8],
];
/** Share of transfers whose destination lives on another partition (the saga path). */
const CROSS_PARTITION_SHARE = 0.85;

export interface LoadStats {
  issued: Record<string, number>;
  /** Ticks skipped because IN_FLIGHT_MAX requests were already in progress. */
  shed: number;
  inFlightPeak: number;
  sequentialRounds: number;
}

export class LoadGenerator {
  readonly stats: LoadStats = { issued: {}, shed: 0, inFlightPeak: 0, sequentialRounds: 0 };
  private readonly tasks = new Set<Promise<void>>();
  private inFlight = 0;
  private ticker: NodeJS.Timeout | null = null;
  private keyCounter = 0;
  private readonly rng: Rng;
  private readonly weightTotal = OPERATION_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);

  constructor(
    private readonly world: World,
    private readonly books: LedgerBooks,
    rng: Rng,
    private readonly control: RunControl,
    private readonly ratePerS: number,
  ) {
    this.rng = rng.fork('load');
  }

  start(): void {
    for (const client of this.world.sequential) this.track(this.runSequential(client, this.rng.fork(client.name)));
    const tickMs = 20;
    let credit = 0;
    let last = Date.now();
    this.ticker = setInterval(() => {
      const now = Date.now();
      credit += ((now - last) / 1000) * this.ratePerS;
      last = now;
      while (credit >= 1) {
        credit -= 1;
        if (this.inFlight >= IN_FLIGHT_MAX) {
          this.stats.shed++;
          continue;
        }
        this.track(this.runOne(this.pickOperation()));
      }
    }, tickMs);
  }

  /** No new requests from now on; requests in progress keep retrying until `drain`'s stop. */
  stopIssuing(): void {
    this.control.issuing = false;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  get pending(): number {
    return this.tasks.size;
  }

  /** Waits for every request in progress; at `hardStopAtMs` (run clock) stops all retrying. */
  async drain(hardStopAfterMs: number): Promise<void> {
    const timer = setTimeout(() => this.control.stopHard(), hardStopAfterMs);
    try {
      while (this.tasks.size > 0) await Promise.all([...this.tasks]);
    } finally {
      clearTimeout(timer);
    }
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((error) => {
      process.stderr.write(`chaos: load task failed: ${(error as Error).stack ?? error}\n`);
    });
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  private pickOperation(): Operation {
    let roll = this.rng.next() * this.weightTotal;
    for (const [operation, weight] of OPERATION_WEIGHTS) {
      roll -= weight;
      if (roll < 0) return operation;
    }
    return 'transfer';
  }

  private nextKey(client: string): string {
    return `${client}.${this.keyCounter++}`;
  }

  private async runOne(operation: Operation): Promise<void> {
    this.stats.issued[operation] = (this.stats.issued[operation] ?? 0) + 1;
    this.inFlight++;
    this.stats.inFlightPeak = Math.max(this.stats.inFlightPeak, this.inFlight);
    try {
      switch (operation) {
        case 'transfer':
          return await this.randomTransfer();
        case 'hot-transfer':
          return await this.hotTransfer();
        case 'deposit':
          return await this.deposit();
        case 'withdrawal':
          return await this.withdrawal();
        case 'replay':
          return await this.replay();
        case 'bad':
          return await this.badRequest();
        case 'overflow':
          return await this.overflow();
        case 'status':
          return await this.statusRead();
      }
    } finally {
      this.inFlight--;
    }
  }

  private destinationFor(source: AccountInfo): AccountInfo {
    const candidates = this.rng.chance(CROSS_PARTITION_SHARE)
      ? this.world.random.filter((a) => a.partition !== source.partition)
      : this.world.random.filter((a) => a.partition === source.partition && a.id !== source.id);
    return candidates.length > 0 ? this.rng.pick(candidates) : this.rng.pick(this.world.random.filter((a) => a.id !== source.id));
  }

  private async movement(client: string, principal: Principal, kind: MovementKind, body: Record<string, string>, sequence: number | null = null): Promise<MovementRecord> {
    const record = this.books.movement({ client, sequence, principal: principal.name, key: this.nextKey(client), kind, body });
    await sendMovement(this.world, this.books, this.control, this.rng, record, principal);
    return record;
  }

  private transferBody(from: AccountInfo, to: AccountInfo, amount: bigint): Record<string, string> {
    const body = { from_account_id: from.id, to_account_id: to.id, amount: amount.toString(), currency: 'USD' } satisfies TransferRequest;
    return this.rng.chance(0.2) ? { ...body, description: `chaos ${randomUUID().slice(0, 8)}` } satisfies TransferRequest : body;
  }

  private async randomTransfer(): Promise<void> {
    const from = this.rng.pick(this.world.random);
    const to = this.destinationFor(from);
    await this.movement(from.owner.name, from.owner, 'TRANSFER', this.transferBody(from, to, BigInt(this.rng.int(1, 400))));
  }

  private async hotTransfer(): Promise<void> {
    const hot = this.world.hot;
    if (this.rng.chance(0.5)) {
      const to = this.rng.pick(this.world.random);
      await this.movement(hot.owner.name, hot.owner, 'TRANSFER', this.transferBody(hot, to, BigInt(this.rng.int(1, 300))));
    } else {
      const from = this.rng.pick(this.world.random);
      await this.movement(from.owner.name, from.owner, 'TRANSFER', this.transferBody(from, hot, BigInt(this.rng.int(1, 300))));
    }
  }

  private async deposit(): Promise<void> {
    const account = this.rng.chance(0.1) ? this.world.hot : this.rng.pick(this.world.random);
    await this.movement('admin', this.world.admin, 'DEPOSIT', { account_id: account.id, amount: String(this.rng.int(500, 5_000)), currency: 'USD' } satisfies MovementRequest);
  }

  /** A deposit the brim account cannot hold: accepted (202), then REJECTED BALANCE_LIMIT_EXCEEDED. */
  private async overflow(): Promise<void> {
    await this.movement(OVERFLOW_CLIENT, this.world.admin, 'DEPOSIT', { account_id: this.world.brim.id, amount: AMOUNT_MAX.toString(), currency: 'USD' });
  }

  private async withdrawal(): Promise<void> {
    const account = this.rng.pick(this.world.random);
    await this.movement(account.owner.name, account.owner, 'WITHDRAWAL', { account_id: account.id, amount: String(this.rng.int(1, 300)), currency: 'USD' } satisfies MovementRequest);
  }

  private principalNamed(name: string): Principal | undefined {
    if (name === this.world.admin.name) return this.world.admin;
    if (name === this.world.hot.owner.name) return this.world.hot.owner;
    return this.world.owners.find((p) => p.name === name);
  }

  /** A client that never saw its answer sends again: same key, same body, after the ack. */
  private async replay(): Promise<void> {
    const candidates = this.books.recentAcknowledged(200).filter((r) => r.sequence === null && r.client !== 'setup');
    if (candidates.length === 0) return;
    const record = this.rng.pick(candidates);
    const principal = this.principalNamed(record.principal);
    if (!principal) return;
    await untilDefinite(
      this.control,
      this.rng,
      () => http(this.world.apiUrl, this.control, { method: 'POST', path: record.path, call: movementCall(record), token: principal.token, timeoutMs: POST_TIMEOUT_MS }),
      (attempt) => record.replays.push(attempt),
    );
  }

  private async statusRead(): Promise<void> {
    const candidates = this.books.recentAcknowledged(100);
    if (candidates.length === 0) return;
    const record = this.rng.pick(candidates);
    const principal = this.principalNamed(record.principal) ?? this.world.admin;
    const answer = await http(this.world.apiUrl, this.control, {
      method: 'GET',
      path: `/v1/transfers/${record.transferId}?wait_ms=${STATUS_WAIT_MS}`,
      call: (api, init) => api.GET('/v1/transfers/{id}', { params: { path: { id: record.transferId }, query: { wait_ms: STATUS_WAIT_MS } }, ...init }),
      token: principal.token,
      timeoutMs: STATUS_WAIT_MS + 5_000,
    });
    const json = (answer.json ?? {}) as { reason?: unknown };
    this.books.observe({
      transferId: record.transferId,
      atMs: answer.attempt.atMs,
      status: answer.attempt.status,
      resourceStatus: answer.attempt.resourceStatus,
      reason: typeof json.reason === 'string' ? json.reason : undefined,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Sequential clients
  // -------------------------------------------------------------------------------------------

  private async runSequential(client: SequentialClient, rng: Rng): Promise<void> {
    let sequence = 0;
    const account = client.account;
    while (this.control.issuing) {
      // One round; its outcomes depend on the order the four apply in.
      const steps: { principal: Principal; kind: MovementKind; body: Record<string, string> }[] = [
        { principal: this.world.admin, kind: 'DEPOSIT', body: { account_id: account.id, amount: '100', currency: 'USD' } satisfies MovementRequest },
        { principal: client.principal, kind: 'TRANSFER', body: { from_account_id: account.id, to_account_id: client.destinations[0]!.id, amount: '60', currency: 'USD' } satisfies TransferRequest },
        { principal: client.principal, kind: 'TRANSFER', body: { from_account_id: account.id, to_account_id: client.destinations[1]!.id, amount: '60', currency: 'USD' } satisfies TransferRequest },
        { principal: client.principal, kind: 'TRANSFER', body: { from_account_id: account.id, to_account_id: client.destinations[2]!.id, amount: '40', currency: 'USD' } satisfies TransferRequest },
      ];
      for (const step of steps) {
        if (!this.control.issuing) return;
        const record = this.books.movement({ client: client.name, sequence: sequence++, principal: step.principal.name, key: this.nextKey(client.name), kind: step.kind, body: step.body });
        await sendMovement(this.world, this.books, this.control, rng, record, step.principal);
        // Stuck (the run ended while retrying): a strictly sequential client sends nothing more.
        if (record.outcome === 'unknown') return;
      }
      this.stats.sequentialRounds++;
      await this.control.sleep(rng.between(300, 1_200));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Bad requests
  // -------------------------------------------------------------------------------------------

  private async badRequest(): Promise<void> {
    const spec = this.rng.chance(0.75) ? this.staticBad() : this.statefulBad();
    if (!spec) return;
    const record = this.books.badRequest({
      client: 'bad',
      category: spec.category,
      stateful: spec.stateful,
      expected: spec.expected,
      principal: spec.principal,
      key: spec.request.key ?? null,
      transferId: spec.transferId ?? null,
    });
    const { definite } = await untilDefinite(
      this.control,
      this.rng,
      () => http(this.world.apiUrl, this.control, spec.request),
      (attempt) => this.books.recordBadAttempt(record, attempt),
    );
    if (!definite) this.books.giveUpBad(record);
  }

  private validTransfer(): { owner: Principal; body: Record<string, unknown> } {
    // Not an admin's account (those with an overdraft): a bad request built on it must be
    // refused for what it is, and an admin may deposit ('deposit-without-admin' would pass).
    const from = this.rng.pick(this.world.random.filter((a) => a.owner !== this.world.admin));
    const to = this.destinationFor(from);
    return { owner: from.owner, body: { from_account_id: from.id, to_account_id: to.id, amount: String(this.rng.int(1, 100)), currency: 'USD' } };
  }

  /** Bad requests the API must refuse before asking any dependency: any 5xx is a bug. */
  private staticBad(): BadSpec {
    const { owner, body } = this.validTransfer();
    const key = this.nextKey('bad');
    const post = (extra: Partial<HttpRequest>): HttpRequest => ({ method: 'POST', path: '/v1/transfers', token: owner.token, key, body, timeoutMs: POST_TIMEOUT_MS, ...extra });
    const make = (category: string, expected: number[], request: HttpRequest): BadSpec => ({ category, stateful: false, expected, principal: owner.name, request });
    const catalogue: (() => BadSpec)[] = [
      () => make('missing-idempotency-key', [400], post({ key: null })),
      () => make('key-too-long', [400], post({ key: 'k'.repeat(200) })),
      () => make('key-with-space', [400], post({ key: 'a b' })),
      () => make('malformed-json', [400], post({ rawBody: '{"from_account_id": ', body: undefined })),
      () => make('array-body', [400], post({ rawBody: '[]', body: undefined })),
      () => make('amount-as-number', [400], post({ body: { ...body, amount: 100 } })),
      () => make('amount-zero', [400], post({ body: { ...body, amount: '0' } })),
      () => make('amount-negative', [400], post({ body: { ...body, amount: '-5' } })),
      () => make('amount-fraction', [400], post({ body: { ...body, amount: '1.50' } })),
      () => make('amount-too-large', [400], post({ body: { ...body, amount: '99999999999999999999' } })),
      () => make('same-account', [400], post({ body: { ...body, to_account_id: body.from_account_id } })),
      () => make('bad-currency', [400], post({ body: { ...body, currency: 'usd' } })),
      () => make('unknown-field', [400], post({ body: { ...body, fee: '1' } })),
      () => make('not-a-uuid', [400], post({ body: { ...body, from_account_id: 'abc' } })),
      () => make('nul-in-description', [400], post({ body: { ...body, description: 'a\u0000b' } })),
      // JSON.stringify writes the lone surrogate as the escape \udc00: valid JSON, not Unicode.
      () => make('lone-surrogate-description', [400], post({ body: { ...body, description: 'x\udc00y' } })),
      () => make('lone-surrogate-sub', [400], post({ token: this.world.malformedSubToken })),
      () =>
        make('metadata-nested-deep', [400], {
          method: 'POST',
          path: '/v1/accounts',
          token: owner.token,
          key,
          rawBody: `{"currency":"USD","metadata":{"a":${'['.repeat(3_000)}${']'.repeat(3_000)}}}`,
          timeoutMs: POST_TIMEOUT_MS,
        }),
      () => make('malformed-url-escape', [400], { method: 'GET', path: '/v1/accounts/%ZZ', token: owner.token, timeoutMs: POST_TIMEOUT_MS }),
      () => make('missing-field', [400], post({ body: { from_account_id: body.from_account_id, amount: '5', currency: 'USD' } })),
      () => make('oversized-body', [413], post({ body: { ...body, description: 'x'.repeat(20_000) } })),
      () => make('text-plain', [415], post({ contentType: 'text/plain' })),
      () => make('no-token', [401], post({ token: null })),
      () => make('garbage-token', [401], post({ authorization: 'Bearer abc.def.ghi' })),
      () => make('wrong-secret-token', [401], post({ token: this.world.wrongSecretToken })),
      () => make('expired-token', [401], post({ token: this.world.expiredToken })),
      () => make('read-only-token-writes', [403], post({ token: this.world.readOnly.token })),
      () => make('deposit-without-admin', [403], post({ path: '/v1/deposits', body: { account_id: body.from_account_id, amount: '1000', currency: 'USD' } })),
      () => make('withdrawal-missing-currency', [400], post({ path: '/v1/withdrawals', body: { account_id: body.from_account_id, amount: '5' } })),
      () => make('get-transfer-not-a-uuid', [404], { method: 'GET', path: '/v1/transfers/not-a-uuid', token: owner.token, timeoutMs: POST_TIMEOUT_MS }),
      () => make('get-transfer-wait-too-long', [400], { method: 'GET', path: `/v1/transfers/${randomUUID()}?wait_ms=99999`, token: owner.token, timeoutMs: POST_TIMEOUT_MS }),
    ];
    return this.rng.pick(catalogue)();
  }

  /** Bad requests that need Postgres or Redis to be refused (403, 404, 422). */
  private statefulBad(): BadSpec | null {
    const { owner, body } = this.validTransfer();
    const key = this.nextKey('bad');
    const catalogue: (() => BadSpec | null)[] = [
      () => {
        // Someone else's account as the source.
        const foreign = this.rng.pick(this.world.random.filter((a) => a.owner.name !== owner.name && a.id !== body.to_account_id));
        return {
          category: 'foreign-source-account',
          stateful: true,
          expected: [403],
          principal: owner.name,
          request: { method: 'POST', path: '/v1/transfers', token: owner.token, key, body: { ...body, from_account_id: foreign.id }, timeoutMs: POST_TIMEOUT_MS },
        };
      },
      () => ({
        category: 'unknown-source-account',
        stateful: true,
        expected: [403],
        principal: owner.name,
        request: { method: 'POST', path: '/v1/transfers', token: owner.token, key, body: { ...body, from_account_id: randomUUID() }, timeoutMs: POST_TIMEOUT_MS },
      }),
      () => {
        // Same principal, same key, another body: 422, and the first body stays what applies.
        const candidates = this.books.recentAcknowledged(50).filter((r) => r.kind === 'TRANSFER' && r.sequence === null);
        if (candidates.length === 0) return null;
        const original = this.rng.pick(candidates);
        const principal = this.principalNamed(original.principal);
        if (!principal) return null;
        const changed = { ...original.body, amount: String(BigInt(original.body.amount!) + 1n) };
        return {
          category: 'idempotency-key-reused',
          stateful: true,
          expected: [422],
          principal: principal.name,
          transferId: original.transferId,
          request: { method: 'POST', path: original.path, token: principal.token, key: original.key, body: changed, timeoutMs: POST_TIMEOUT_MS },
        };
      },
      () => ({
        category: 'get-unknown-transfer',
        stateful: true,
        expected: [404],
        principal: this.world.admin.name,
        request: { method: 'GET', path: `/v1/transfers/${randomUUID()}`, token: this.world.admin.token, timeoutMs: POST_TIMEOUT_MS },
      }),
    ];
    return this.rng.pick(catalogue)();
  }
}

interface BadSpec {
  category: string;
  stateful: boolean;
  expected: number[];
  principal: string;
  transferId?: string;
  request: HttpRequest;
}

