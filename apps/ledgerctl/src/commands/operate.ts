/**
 * Operator commands for scaling and rebalancing: workers, routing show, buckets move,
 * partitions add, rebalance. Each opens what it needs and closes it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import { BUCKET_COUNT, bucketOf, externalAccountId, transitAccountId } from '@ledgerline/domain';
import { BatchingProducer, KafkaAdmin, createKafka, topicNames } from '@ledgerline/kafka';
import { silentLogger } from '@ledgerline/logging';
import { type BucketMove, bucketTraffic, createPool, findAccount, listOpenMoves, listPartitionStates, listSystemAccounts, loadRouting } from '@ledgerline/postgres';
import { type CtlConfig, ctlPool } from '../config';
import { printTable, printable } from '../table';
import { MoveAbortedError, finishOpenMoves, moveBucketsRetrying } from '../rebalance/move-buckets';
import { type PlannedMove, levelPlan, spreadPlan } from '../rebalance/plan';
import { trafficView } from '../rebalance/traffic';


/**
 * `role` picks the Postgres login: `owner` only for commands that change the routing
 * (moves, partitions add, rebalance --apply) and for a dead letter's redrive or acknowledgement;
 * everything else reads as the API role.
 */
export async function withDeps<T>(config: CtlConfig, role: 'owner' | 'read', work: (deps: Deps) => Promise<T>): Promise<T> {
  const pool = ctlPool(config, role, 3);
  // kafkajs's own lines (a refused connection, each retry) would repeat what ledgerctl says
  // itself when a dependency fails, naming it; a command that fails says why.
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'ledgerctl', security: config.kafkaSecurity, ...config.kafkaClient, logger: silentLogger });
  const admin = new KafkaAdmin(kafka);
  const producer = new BatchingProducer({ kafka, lingerMs: 1, batchSizeMax: 100, bufferMessagesMax: 1000, ackTimeoutMs: 15_000 });
  try {
    // A dependency that fails is named, not left to a bare ECONNREFUSED host:port or to pg's
    // "SASL authentication failed" (a wrong password), which reads like Kafka's.
    await reachable(config, role, pool);
    await naming(`Kafka (${config.kafkaBrokers.join(', ')})`, producer.start());
    return await work({ pool, admin, producer, topics: topicNames(config.topicPrefix) });
  } finally {
    await producer.stop();
    await admin.close();
    await pool.end();
  }
}

async function naming<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
}

/** host:port of a connection URL, without its credentials. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured database';
  }
}

/** Postgres answers as `role`, or the command fails naming Postgres and its host. */
async function reachable(config: CtlConfig, role: 'owner' | 'read', pool: ReturnType<typeof createPool>): Promise<void> {
  await naming(`Postgres (${hostOf(role === 'owner' ? config.ownerDatabaseUrl : config.readDatabaseUrl)})`, pool.query('SELECT 1'));
}

type Deps = { pool: ReturnType<typeof createPool>; admin: KafkaAdmin; producer: BatchingProducer; topics: ReturnType<typeof topicNames> };

/**
 * Postgres alone, as `role`, for a command that needs nothing of Kafka: the views (the
 * routing table lives in Postgres) and `keys rebind`. It runs whether Kafka answers or not;
 * a Postgres that fails is named as withDeps names it.
 */
export async function withPostgres<T>(config: CtlConfig, role: 'owner' | 'read', work: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const pool = ctlPool(config, role, 3);
  try {
    await reachable(config, role, pool);
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/**
 * The command topic's partition count, asked once without retries, or null with a word on
 * stderr when Kafka does not answer: a view of the routing must not be lost in a Kafka outage.
 */
async function partitionCountIfKafkaAnswers(config: CtlConfig): Promise<number | null> {
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: 'ledgerctl',
    security: config.kafkaSecurity,
    ...config.kafkaClient,
    retry: { ...config.kafkaClient.retry, retries: 0 },
    logger: silentLogger,
  });
  const admin = new KafkaAdmin(kafka);
  try {
    return await admin.partitionCount(topicNames(config.topicPrefix).commands);
  } catch (error) {
    process.stderr.write(`ledgerctl: Kafka (${config.kafkaBrokers.join(', ')}) could not tell the partition count (${(error as Error).message}); partitions without buckets are not listed\n`);
    return null;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export async function showWorkers(config: CtlConfig): Promise<void> {
  await withDeps(config, 'read', async ({ pool, admin, topics }) => {
    const [group, ends, states] = await Promise.all([
      admin.describeGroup(config.groupId),
      admin.partitionEnds(topics.commands),
      listPartitionStates(pool, topics.commands),
    ]);
    // Two members with one WORKER_ID would read as one: each is then told apart by its member id.
    const perClientId = new Map<string, number>();
    for (const member of group.members) perClientId.set(member.clientId, (perClientId.get(member.clientId) ?? 0) + 1);
    const owners = new Map<number, string>();
    // Members holding no partition (spares, when the group has more members than partitions)
    // appear in no row of the table: named after it (an outside runbook review found a 9th
    // worker counted among the members and shown nowhere).
    const spares: string[] = [];
    for (const member of group.members) {
      const shared = (perClientId.get(member.clientId) ?? 0) > 1;
      const name = `${member.clientId} ${member.host}${shared ? ` (member ${member.memberId})` : ''}`;
      const partitions = member.assignment[topics.commands] ?? [];
      for (const partition of partitions) owners.set(partition, name);
      if (partitions.length === 0) spares.push(name);
    }
    for (const [clientId, n] of perClientId) {
      if (n > 1) process.stderr.write(`ledgerctl workers: ${n} members share the client id ${printable(JSON.stringify(clientId))}: give each worker its own WORKER_ID\n`);
    }
    // Lag runs to the log end. A stable offset below it means a transaction is open on the
    // partition: the workers read committed records only, so nothing past the stable offset
    // reaches them until it ends (lag against the stable offset read ~0 meanwhile: an outside
    // review). A negative lag is shown as it is: the log ends below the stored offset (the topic
    // recreated or truncated), which the worker refuses to apply past ("log-behind").
    const held: number[] = [];
    const rows = [...ends]
      .sort((a, b) => a[0] - b[0])
      .map(([partition, { logEnd, stableOffset }]) => {
        const state = states.find((s) => s.partition === partition);
        const applied = state?.nextOffset ?? 0n;
        if (stableOffset < logEnd) held.push(partition);
        const transaction = stableOffset < logEnd ? `open: stable ${stableOffset} < end ${logEnd}` : '-';
        return [String(partition), owners.get(partition) ?? '(unassigned)', String(state?.epoch ?? 0n), String(applied), String(logEnd - applied), transaction];
      });
    process.stdout.write(`group ${config.groupId}: ${group.state}, ${group.members.length} members\n`);
    printTable(['partition', 'owner', 'epoch', 'applied (pg offset)', 'lag', 'transaction'], rows);
    if (held.length > 0) {
      process.stdout.write(
        `partitions [${held.join(', ')}]: a Kafka transaction is open; the workers read nothing past its first record (the stable offset) until it commits or the broker aborts it (transaction.max.timeout.ms). ledgerline writes no transactions: see docs/security.md, "Commands on Kafka"\n`,
      );
    }
    // Client ids and hosts are what each member told the broker: escaped, as the table's cells are.
    if (spares.length > 0) process.stdout.write(`holding no partition (spare while the group has more members than partitions; ready, and given partitions when a member leaves): ${printable(spares.sort().join(', '))}\n`);
  });
}

export async function showRouting(config: CtlConfig): Promise<void> {
  await withPostgres(config, 'read', async (pool) => {
    const [routing, traffic, open, partitions] = await Promise.all([
      loadRouting(pool),
      bucketTraffic(pool, config.trafficWindowMs),
      listOpenMoves(pool),
      partitionCountIfKafkaAnswers(config),
    ]);
    // Every partition of the topic, those without buckets too (after a crashed spread).
    const perPartition = new Map<number, { buckets: number; load: number }>(Array.from({ length: partitions ?? 0 }, (_, p) => [p, { buckets: 0, load: 0 }]));
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
      const p = routing.partitionOfBucket(bucket);
      const entry = perPartition.get(p) ?? { buckets: 0, load: 0 };
      entry.buckets++;
      entry.load += traffic.perBucket.get(bucket) ?? 0;
      perPartition.set(p, entry);
    }
    // Rates over the time the counted transfers cover: a capped read covers less than the window.
    const view = trafficView(traffic, config.trafficWindowMs);
    process.stdout.write(`routing table version ${routing.version}, ${BUCKET_COUNT} buckets\n`);
    printTable(
      ['partition', 'buckets', 'commands/min'],
      [...perPartition].sort((a, b) => a[0] - b[0]).map(([p, e]) => [String(p), String(e.buckets), view.perMinute(e.load).toFixed(1)]),
    );
    const hot = [...traffic.perBucket].sort((a, b) => b[1] - a[1]).slice(0, 10);
    process.stdout.write(`\nhottest buckets (${view.span}):\n`);
    printTable(['bucket', 'partition', 'commands/min'], hot.map(([b, n]) => [String(b), String(routing.partitionOfBucket(b)), view.perMinute(n).toFixed(1)]));
    process.stdout.write(view.note);
    if (open.length) process.stdout.write(`\nmoves in progress: ${open.map((m) => `${m.bucket} ${m.fromPartition}->${m.toPartition} ${m.state}`).join(', ')}\n`);
  });
}

/** Where one account lives: its bucket, the partition that bucket routes to, and any move of it in progress. */
export async function showAccountRouting(config: CtlConfig, accountId: string): Promise<void> {
  await withPostgres(config, 'read', async (pool) => {
    const [routing, open, account] = await Promise.all([loadRouting(pool), listOpenMoves(pool), findAccount(pool, accountId)]);
    const bucket = bucketOf(accountId);
    const what = account ? `${account.kind} account, ${account.currency}, ${account.status}` : 'no such account (this is where it would live)';
    process.stdout.write(`account ${accountId}: ${what}\n`);
    process.stdout.write(`bucket ${bucket} -> partition ${routing.partitionOfBucket(bucket)} (routing table version ${routing.version})\n`);
    const move = open.find((m) => m.bucket === bucket);
    if (move) process.stdout.write(`bucket ${bucket} is being moved ${move.fromPartition}->${move.toPartition} (${move.state}): its commands are refused with 503 BUCKET_MOVING until it ends\n`);
  });
}

/**
 * The ledger's own accounts, by partition and currency: the transit account (credited by a
 * cross-partition movement's first leg, debited by its second, each on its own partition:
 * one partition's balance is what it sent out net of what it received, and their sum is the
 * money between two legs now) and the external one (where deposits come from: minus what was
 * deposited net). An admin token reads each with GET /v1/accounts/{id}; this is where their
 * ids are found.
 */
export async function showSystemAccounts(config: CtlConfig): Promise<void> {
  // Postgres alone: a view of the money in transit must not be lost in a Kafka outage.
  await withPostgres(config, 'read', async (pool) => {
    const accounts = await listSystemAccounts(pool);
    // An id names its (kind, partition, currency): find which, for every partition there can
    // be (a topic has at most one per bucket).
    const placeOf = new Map<string, number>();
    for (const currency of new Set(accounts.map((a) => a.currency))) {
      for (let p = 0; p < BUCKET_COUNT; p++) {
        placeOf.set(transitAccountId(p, currency), p);
        placeOf.set(externalAccountId(p, currency), p);
      }
    }
    const rows = accounts
      .map((a) => ({ ...a, partition: placeOf.get(a.id) ?? -1 }))
      .sort((a, b) => a.currency.localeCompare(b.currency) || a.partition - b.partition || a.kind.localeCompare(b.kind));
    printTable(
      ['currency', 'partition', 'kind', 'id', 'balance'],
      rows.map((a) => [a.currency, a.partition < 0 ? '?' : String(a.partition), a.kind, a.id, a.balance.toString()]),
    );
    // Every currency the ledger has system accounts in, 0 before its first cross-partition
    // movement opens a transit account (a missing line read as "not shown", not as none).
    const inTransit = new Map<string, bigint>([...new Set(rows.map((a) => a.currency))].map((currency) => [currency, 0n]));
    for (const a of accounts) if (a.kind === 'TRANSIT') inTransit.set(a.currency, inTransit.get(a.currency)! + a.balance);
    for (const [currency, total] of inTransit) process.stdout.write(`${currency}: ${total} in transit (the transit accounts' sum: money between a movement's two legs)\n`);
  });
}

function bucketsWord(n: number): string {
  return n === 1 ? '1 bucket' : `${n} buckets`;
}

/**
 * A move holds its buckets until the old partition's worker applies its fence: with no worker
 * in the group that never happens, and the buckets' accounts would get 503 BUCKET_MOVING
 * until CTL_MOVE_FENCE_WAIT_MS rolls the move back. Refused up front instead.
 */
async function requireWorkers(deps: Deps, config: CtlConfig): Promise<void> {
  const group = await deps.admin.describeGroup(config.groupId);
  if (group.members.length === 0) {
    throw new Error(`no partition worker is in group ${config.groupId}: a move's fence is applied by the old partition's worker; start the workers (ledgerctl workers lists them), then move`);
  }
}

export async function moveCommand(config: CtlConfig, buckets: number[], toPartition: number): Promise<void> {
  await withDeps(config, 'owner', async (deps) => {
    const { pool, admin, producer, topics } = deps;
    const partitions = await admin.partitionCount(topics.commands);
    if (toPartition < 0 || toPartition >= partitions) throw new Error(`--to-partition must be in 0..${partitions - 1}`);
    // Only a move that still needs a fence needs a worker: one already FENCED, or a bucket
    // already on the target, is finished (or left) by Postgres alone.
    const [routing, open] = await Promise.all([loadRouting(pool), listOpenMoves(pool)]);
    const fenceNeeded = buckets.some((b) => {
      const move = open.find((m) => m.bucket === b);
      return move ? move.state === 'HOLDING' : routing.partitionOfBucket(b) !== toPartition;
    });
    if (fenceNeeded) await requireWorkers(deps, config);
    const result = await moveBucketsRetrying({ pool, producer, commandsTopic: topics.commands, log: (l) => process.stdout.write(`${l}\n`) }, buckets, toPartition, config.move);
    // A bucket already on the target is not moved (nor held): say so rather than report a move.
    if (result.moved.length === 0 && result.rolledBack.length === 0) process.stdout.write(`nothing to move: ${buckets.length === 1 ? `bucket ${buckets[0]} is` : 'the buckets are'} on partition ${toPartition} already\n`);
    if (result.moved.length > 0) process.stdout.write(`moved ${bucketsWord(result.moved.length)} to partition ${toPartition}; held ${result.holdMs} ms\n`);
    // Only DONE moves count: one another ledgerctl rolled back never moved its bucket.
    if (result.rolledBack.length > 0) throw new MoveAbortedError(rolledBackByAnother(result.rolledBack));
  });
}

/**
 * Grows the topics to `to` partitions and spreads buckets onto the new ones. With the topics
 * already at `to` (a re-run after a crash cut the spread short), the spread is finished only
 * with `finish`: without it the moves are printed, not made. A spread levels bucket counts,
 * so a re-run by mistake would also move buckets an operator had put on a crowded partition
 * by hand, each move with its hold (found by an operator review).
 */
export async function addPartitions(config: CtlConfig, to: number, finish: boolean): Promise<void> {
  await withDeps(config, 'owner', async (deps) => {
    const current = await deps.admin.partitionCount(deps.topics.commands);
    if (to < current) throw new Error(`${deps.topics.commands} already has ${current} partitions: Kafka cannot remove partitions`);
    if (to > current) {
      await requireWorkers(deps, config); // before the topics grow: the spread will move buckets
      // The commands topic only. Growing the events topic would hash its keys onto the new
      // partitions: one hold's or account's later events would land on another partition
      // than its earlier ones, and a consumer could read them out of order, with nothing in
      // them to reorder by (an outside review). Its count is the consumers' parallelism, not
      // ours; docs/events.md says what growing it by hand costs.
      await deps.admin.addPartitions([deps.topics.commands], to);
      // Kafka cannot take partitions back: from here an interrupted run leaves the new ones
      // without buckets, which the same command with --finish spreads (an operator review: a
      // Ctrl-C in this wait printed nothing).
      process.stdout.write(
        `${deps.topics.commands}: ${current} -> ${to} partitions; waiting for clients to see them (if this is interrupted, ` +
          `\`partitions add --to ${to} --finish\` spreads the buckets onto them)\n`,
      );
      await sleep(config.metadataRefreshWaitMs);
    }
    const preview = to === current && !finish;
    // Moves a crash left open are finished where they were going before anything is planned:
    // a plan that sent one of their buckets elsewhere would be refused, and leave it held.
    if (!preview) await finishMovesLeftOpen(deps, config);
    const open = preview ? await listOpenMoves(deps.pool) : [];
    const placed = await placement(deps, preview ? open : []);
    const plan = spreadPlan(placed, to);
    if (to === current) {
      if (plan.length === 0 && open.length === 0) {
        process.stdout.write(`${deps.topics.commands} has ${to} partitions and the buckets are spread: nothing to move\n`);
        return;
      }
      if (preview) {
        if (plan.length) printTable(['bucket', 'from', 'to'], plan.map((m) => [String(m.bucket), String(m.from), String(m.to)]));
        process.stdout.write(
          `${heldNote(open, '--finish')}${deps.topics.commands} already has ${to} partitions; leveling its buckets would make ${plan.length ? `the ${plan.length} moves above` : 'no move'}` +
            `${open.length ? `, after the ${movesWord(open.length)} left open` : ''}. Nothing moved: to finish a spread a crash cut short, run again with --finish\n`,
        );
        return;
      }
      process.stdout.write(`${deps.topics.commands} has ${to} partitions; finishing the spread: ${plan.length} buckets to move\n`);
    }
    if (plan.length) await applyPlan(deps, plan, config);
  });
}

export async function rebalance(config: CtlConfig, apply: boolean, movesMax: number): Promise<void> {
  await withDeps(config, apply ? 'owner' : 'read', async (deps) => {
    const partitions = await deps.admin.partitionCount(deps.topics.commands);
    // As in addPartitions: open moves first, where they were going; a preview plans as if they were done.
    if (apply) await finishMovesLeftOpen(deps, config);
    const open = apply ? [] : await listOpenMoves(deps.pool);
    const [placed, traffic] = await Promise.all([placement(deps, apply ? [] : open), bucketTraffic(deps.pool, config.trafficWindowMs)]);
    // Leveled by the counts read; shown as rates over the time they cover (a capped read covers less than the window).
    const plan = levelPlan(placed, partitions, traffic.perBucket, movesMax);
    const view = trafficView(traffic, config.trafficWindowMs);
    if (!apply) process.stdout.write(heldNote(open, '--apply'));
    if (plan.length === 0) process.stdout.write('already level: nothing to move\n');
    else printTable(['bucket', 'from', 'to', `commands/min (${view.span})`], plan.map((m) => [String(m.bucket), String(m.from), String(m.to), view.perMinute(m.load).toFixed(1)]));
    process.stdout.write(view.note);
    if (apply && plan.length) await applyPlan(deps, plan, config);
  });
}

/** Where each bucket is, or will be once `open` moves finish where they were going. */
async function placement(deps: Deps, open: readonly BucketMove[]): Promise<(bucket: number) => number> {
  const routing = await loadRouting(deps.pool);
  const going = new Map(open.map((m) => [m.bucket, m.toPartition]));
  return (bucket) => going.get(bucket) ?? routing.partitionOfBucket(bucket);
}

/**
 * Finishes the moves open now (a `buckets move`, spread or rebalance a crash cut short, or
 * one still running elsewhere) where each was going; never starts one. Until then their
 * buckets are held: their accounts' commands are refused with 503 BUCKET_MOVING.
 */
async function finishMovesLeftOpen(deps: Deps, config: CtlConfig): Promise<void> {
  const open = await listOpenMoves(deps.pool);
  if (open.length === 0) return;
  if (open.some((m) => m.state === 'HOLDING')) await requireWorkers(deps, config); // a fence to apply
  process.stdout.write(`finishing ${movesWord(open.length)} left open first (a crashed command's, or one still running): ${describeMoves(open)}\n`);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const result = await finishOpenMoves({ pool: deps.pool, producer: deps.producer, commandsTopic: deps.topics.commands, log }, open, config.move);
  // One rolled back meanwhile by the command driving it stays where it was: this command's
  // plan is made afterwards, from the table as it is, so it goes on (the rollback is named).
  const rolledBack = result.rolledBack.length ? `; rolled back by the command driving them, not moved: ${describeMoves(result.rolledBack)}` : '';
  process.stdout.write(`${result.moved.length} of ${open.length} finished${rolledBack}; their buckets stood held up to ${result.holdMs} ms\n`);
}

/**
 * Why a command reports moves it drove as not made, though its own waits did not run out:
 * another ledgerctl drove the same moves (each step is idempotent, so two may) and rolled
 * them back when its wait ran out. The buckets stayed where they were, not held.
 */
function rolledBackByAnother(moves: readonly BucketMove[]): string {
  return (
    `${movesWord(moves.length)} rolled back, not made (${describeMoves(moves)}): another ledgerctl driving the same ` +
    `${moves.length === 1 ? 'move' : 'moves'} gave up on ${moves.length === 1 ? 'it' : 'them'} (its wait for the APIs or the fence ran out); ` +
    `${moves.length === 1 ? 'its bucket stays' : 'their buckets stay'} where ${moves.length === 1 ? 'it was' : 'they were'}, not held. Run the move again once the cause is mended`
  );
}

/** What a preview says of moves left open: their buckets refuse commands until finished. */
function heldNote(open: readonly BucketMove[], finishingFlag: '--finish' | '--apply'): string {
  if (open.length === 0) return '';
  return (
    `${bucketsWord(open.length)} held by ${movesWord(open.length)} left open (${describeMoves(open)}): ` +
    `their accounts get 503 BUCKET_MOVING until the moves finish (this command with ${finishingFlag} finishes them first, ` +
    'or `buckets move <bucket> --to-partition <to>`).\n'
  );
}

/** "629 5->12 HOLDING, 630 5->12 FENCED" (the first 20, then how many more). */
function describeMoves(moves: readonly BucketMove[]): string {
  const shown = moves.slice(0, 20).map((m) => `${m.bucket} ${m.fromPartition}->${m.toPartition} ${m.state}`);
  return moves.length > 20 ? `${shown.join(', ')} and ${moves.length - 20} more` : shown.join(', ');
}

function movesWord(n: number): string {
  return n === 1 ? '1 move' : `${n} moves`;
}

/** Carries out a plan in groups of one target partition and at most CTL_BUCKETS_PER_MOVE_MAX buckets. */
async function applyPlan(deps: Deps, plan: readonly PlannedMove[], config: CtlConfig): Promise<void> {
  await requireWorkers(deps, config);
  const { bucketsPerMoveMax } = config;
  const groups: { to: number; buckets: number[] }[] = [];
  for (const move of plan) {
    const group = groups.find((g) => g.to === move.to && g.buckets.length < bucketsPerMoveMax);
    if (group) group.buckets.push(move.bucket);
    else groups.push({ to: move.to, buckets: [move.bucket] });
  }
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'moving buckets {bar} {value}/{total}', stream: process.stderr }) : null;
  bar?.start(plan.length, 0);
  // Counted from the moves that finished (DONE), never from the plan: a step's move that
  // another ledgerctl rolled back moved nothing (found by an outside review).
  let done = 0;
  let steps = 0;
  const holds: number[] = [];
  try {
    for (const group of groups) {
      const result = await moveBucketsRetrying({ pool: deps.pool, producer: deps.producer, commandsTopic: deps.topics.commands, log: () => undefined }, group.buckets, group.to, config.move);
      steps++;
      holds.push(result.holdMs);
      done += result.moved.length;
      if (bar) bar.update(done);
      else process.stdout.write(`moved ${done}/${plan.length} buckets\n`);
      // The plan stops at a rolled-back step, as at one this command rolled back itself: the
      // cause (an API or a worker behind) would most likely roll the next steps back too.
      if (result.rolledBack.length > 0) throw new MoveAbortedError(rolledBackByAnother(result.rolledBack));
    }
  } catch (error) {
    bar?.stop();
    if (error instanceof MoveAbortedError) process.stdout.write(`${done} of ${plan.length} buckets moved before a step was rolled back; the plan's remaining steps were not made\n`);
    throw error;
  }
  bar?.stop();
  holds.sort((a, b) => a - b);
  process.stdout.write(`${done} buckets moved in ${steps} steps; hold per step p50 ${holds[Math.floor(holds.length / 2)] ?? 0} ms, max ${holds[holds.length - 1] ?? 0} ms\n`);
}
