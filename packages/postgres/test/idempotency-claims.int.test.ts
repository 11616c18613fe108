// Proves against real Postgres (through PgBouncer) that group-committed idempotency claims answer new / replay / reused within one statement and across statements, that concurrent statements sharing ids neither deadlock nor both say new, that a failed statement rejects every claim of its batch and writes none of them, and that a release gives back only the claim it made, never a later replay's.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { IdempotencyClaims, type KeyClaim, createPool, isRetryablePgError, releaseIdempotencyKey } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

describe('IdempotencyClaims against Postgres', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** A claimer that records the size of every statement it sends. */
  function claimer(options: { batchSizeMax?: number; concurrentFlushesMax?: number } = {}) {
    const claims = new IdempotencyClaims(db.pool, options);
    const flushes: number[] = [];
    claims.onFlush = (size) => flushes.push(size);
    return { claims, flushes };
  }
  const kinds = (answers: KeyClaim[]) => answers.map((a) => a.kind);
  const storedHash = async (id: string) =>
    (await db.pool.query('SELECT request_hash FROM idempotency_keys WHERE transfer_id = $1', [id])).rows[0]?.request_hash;

  test('within one statement: the first claim is new, the same body replays, another body is reused', async () => {
    const { claims, flushes } = claimer();
    const id = randomUUID();
    const other = randomUUID();
    const answers = await Promise.all([
      claims.claim(id, 'alice', 'h1'),
      claims.claim(id, 'alice', 'h1'),
      claims.claim(other, 'alice', 'h9'),
      claims.claim(id, 'alice', 'h2'),
      claims.claim(id, 'alice', 'h1'),
    ]);
    expect(flushes).toEqual([5]);
    expect(kinds(answers)).toEqual(['new', 'replay', 'new', 'reused', 'replay']);
    expect(await storedHash(id)).toBe('h1');
  });

  test('across statements: a later claim compares with the row an earlier statement wrote', async () => {
    const { claims, flushes } = claimer();
    const id = randomUUID();
    expect((await claims.claim(id, 'bob', 'h1')).kind).toBe('new');
    expect((await claims.claim(id, 'bob', 'h1')).kind).toBe('replay');
    expect((await claims.claim(id, 'bob', 'h2')).kind).toBe('reused');
    // An id claimed before, now met in a batch: none of its claims is new.
    expect(kinds(await Promise.all([claims.claim(id, 'bob', 'h2'), claims.claim(id, 'bob', 'h1')]))).toEqual(['reused', 'replay']);
    expect(flushes).toEqual([1, 1, 1, 2]);
    expect(await storedHash(id)).toBe('h1');
  });

  test('thousands of concurrent claims of distinct keys are all new, in bounded statements', async () => {
    const { claims, flushes } = claimer({ batchSizeMax: 500, concurrentFlushesMax: 2 });
    const ids = Array.from({ length: 3000 }, () => randomUUID());
    const answers = await Promise.all(ids.map((id) => claims.claim(id, 'carol', 'h')));
    expect(answers.every((a) => a.kind === 'new')).toBe(true);
    expect(flushes.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(Math.max(...flushes)).toBeLessThanOrEqual(500);
    const stored = await db.pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE transfer_id = ANY($1::uuid[])', [ids]);
    expect(stored.rows[0].n).toBe(3000);
  });

  test('two statements in flight sharing ids in opposite orders: no deadlock, exactly one new per id', async () => {
    const { claims, flushes } = claimer({ batchSizeMax: 2, concurrentFlushesMax: 2 });
    for (let round = 0; round < 30; round++) {
      const [x, y] = [randomUUID(), randomUUID()];
      // Cut into [x, y] and [y, x], both sent at once on two connections.
      const answers = await Promise.all([claims.claim(x, 'dan', 'h'), claims.claim(y, 'dan', 'h'), claims.claim(y, 'dan', 'h'), claims.claim(x, 'dan', 'h')]);
      const xs = [answers[0]!, answers[3]!].map((a) => a.kind).sort();
      const ys = [answers[1]!, answers[2]!].map((a) => a.kind).sort();
      expect([xs, ys]).toEqual([
        ['new', 'replay'],
        ['new', 'replay'],
      ]);
    }
    expect(flushes.every((size) => size === 2)).toBe(true);
  });

  test('a statement that fails rejects every claim of its batch, writes none of them, and the next batch goes through', async () => {
    // Postgres refuses the whole statement when one row breaks a constraint: the batch shares its fate.
    await db.pool.query(`ALTER TABLE idempotency_keys ADD CONSTRAINT test_no_poison CHECK (principal <> 'poison')`);
    try {
      const { claims, flushes } = claimer();
      const good = [randomUUID(), randomUUID()];
      const batch = [claims.claim(good[0]!, 'erin', 'h'), claims.claim(randomUUID(), 'poison', 'h'), claims.claim(good[1]!, 'erin', 'h')];
      const outcomes = await Promise.allSettled(batch);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(new Set(outcomes.map((o) => (o as PromiseRejectedResult).reason)).size).toBe(1);
      expect((await db.pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE transfer_id = ANY($1::uuid[])', [good])).rows[0].n).toBe(0);

      expect(kinds(await Promise.all(good.map((id) => claims.claim(id, 'erin', 'h'))))).toEqual(['new', 'new']);
      expect(flushes).toEqual([3, 2]);
    } finally {
      await db.pool.query('ALTER TABLE idempotency_keys DROP CONSTRAINT test_no_poison');
    }
  });

  test('Postgres unreachable: every claim of the batch is rejected with an error the API answers 503', async () => {
    const unreachable = new Pool({ connectionString: 'postgres://ledgerline:ledgerline@127.0.0.1:1/nowhere', connectionTimeoutMillis: 1_000 });
    unreachable.on('error', () => undefined);
    try {
      const claims = new IdempotencyClaims(unreachable);
      const outcomes = await Promise.allSettled([claims.claim(randomUUID(), 'fay', 'h'), claims.claim(randomUUID(), 'fay', 'h')]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect(isRetryablePgError((outcome as PromiseRejectedResult).reason)).toBe(true);
      }
    } finally {
      await unreachable.end();
    }
  });
  test('a statement past its deadline takes the claims queued behind it down with it, unsent', async () => {
    // One statement at a time, each with a 1 s deadline; a lock makes the first one hang.
    const pool = createPool({ connectionString: db.url, connectionsMax: 2, connectTimeoutMs: 5_000, queryTimeoutMs: 1_000, applicationName: 'claims-deadline-test' });
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE idempotency_keys IN ACCESS EXCLUSIVE MODE');
      const claims = new IdempotencyClaims(pool, { concurrentFlushesMax: 1 });
      const flushes: number[] = [];
      claims.onFlush = (n) => flushes.push(n);
      const first = claims.claim(randomUUID(), 'gus', 'h');
      await new Promise((resolve) => setImmediate(resolve)); // the first statement is sent
      const queued = claims.claim(randomUUID(), 'gus', 'h');
      const outcomes = await Promise.allSettled([first, queued]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect(isRetryablePgError((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
      // The queued claim was never sent: one statement, not a second one waiting out its own deadline.
      expect(flushes).toEqual([1]);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await pool.end();
    }
  });

  describe('releasing a key (Kafka refused the command)', () => {
    const newVersion = (claim: KeyClaim) => {
      if (claim.kind !== 'new' || claim.version === null) throw new Error(`expected a new claim with a version to release, got ${JSON.stringify(claim)}`);
      return claim.version;
    };

    test("a replay answers with the key's first claim time, whenever it comes", async () => {
      const { claims } = claimer();
      const id = randomUUID();
      const first = await claims.claim(id, 'alice', 'h1');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const again = await claims.claim(id, 'alice', 'h1');
      expect(first).toMatchObject({ kind: 'new', claimedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });
      expect(again).toEqual({ kind: 'replay', claimedAt: (first as { claimedAt: string }).claimedAt });
    });

    test('frees the key the claim made', async () => {
      const { claims } = claimer();
      const id = randomUUID();
      const first = await claims.claim(id, 'alice', 'h1');
      await releaseIdempotencyKey(db.pool, id, 'h1', newVersion(first));
      expect(await storedHash(id)).toBeUndefined();
      expect(kinds([await claims.claim(id, 'alice', 'h2')])).toEqual(['new']); // another body may now use it
    });

    test('a release arriving after a replay of the key frees nothing: the replay may have published', async () => {
      const { claims } = claimer();
      const id = randomUUID();
      const first = await claims.claim(id, 'alice', 'h1');
      // The client retried (its first request past a deadline) before the first one's release ran.
      expect(kinds([await claims.claim(id, 'alice', 'h1')])).toEqual(['replay']);
      await releaseIdempotencyKey(db.pool, id, 'h1', newVersion(first));
      expect(await storedHash(id)).toBe('h1');
      expect(kinds([await claims.claim(id, 'alice', 'h2')])).toEqual(['reused']);
    });

    test('a claim that shared its statement with a replay of the key gives nothing back: the replay may have published', async () => {
      // Found by an outside review: a double submit lands both claims in one statement, which
      // writes one row version for both; the first's release deleted it by that version while
      // the replay published, so another body was then accepted under the key and never applied.
      const { claims, flushes } = claimer();
      const id = randomUUID();
      const [first, replay] = await Promise.all([claims.claim(id, 'alice', 'h1'), claims.claim(id, 'alice', 'h1')]);
      expect(flushes).toEqual([2]); // one statement carried both
      expect(kinds([first, replay])).toEqual(['new', 'replay']);
      // What the API does when the first request's publish certainly failed: release what the
      // claim lets it release.
      const releasable = first.kind === 'new' ? first.version : null;
      if (releasable !== null) await releaseIdempotencyKey(db.pool, id, 'h1', releasable);
      expect(await storedHash(id)).toBe('h1');
      expect(kinds([await claims.claim(id, 'alice', 'h2')])).toEqual(['reused']);
    });

    test('a claim that shared its statement only with another body under the key may still give it back', async () => {
      const { claims } = claimer();
      const id = randomUUID();
      const [first, other] = await Promise.all([claims.claim(id, 'alice', 'h1'), claims.claim(id, 'alice', 'h2')]);
      expect(kinds([first, other])).toEqual(['new', 'reused']);
      await releaseIdempotencyKey(db.pool, id, 'h1', newVersion(first));
      expect(await storedHash(id)).toBeUndefined();
    });
  });
});
