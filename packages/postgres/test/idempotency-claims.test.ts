// Proves, without a database, that a batch of claims is answered exactly as the same claims run one after another would be (duplicates of an id included), and that the batcher bounds statement size and statements in flight and fails a whole batch together.
import type { Pool } from 'pg';
import { type ClaimRequest, IdempotencyClaims, type KeyClaim, type StoredClaim, answerClaims, distinctClaims } from '../src';

const ID_A = '00000000-0000-5000-8000-00000000000a';
const ID_B = '00000000-0000-5000-8000-00000000000b';
const claimOf = (transferId: string, requestHash: string): ClaimRequest => ({ transferId, principal: 'alice', requestHash, batch: false });
const kinds = (answers: KeyClaim[]) => answers.map((a) => a.kind);
const AT = '2026-12-04T17:00:00.123Z';

/**
 * The reference: claims one after another against a map standing in for the table, the way
 * one upsert per claim answered before batching.
 */
function sequentially(table: Map<string, string>, claims: readonly ClaimRequest[]): KeyClaim['kind'][] {
  return claims.map((claim) => {
    const held = table.get(claim.transferId);
    if (held === undefined) {
      table.set(claim.transferId, claim.requestHash);
      return 'new';
    }
    return held === claim.requestHash ? 'replay' : 'reused';
  });
}

/** What the batched statement returns for the distinct claims, given the table before it. */
function statement(table: Map<string, string>, claims: readonly ClaimRequest[]): Map<string, StoredClaim> {
  const stored = new Map<string, StoredClaim>();
  for (const claim of distinctClaims(claims)) {
    const held = table.get(claim.transferId);
    if (held === undefined) table.set(claim.transferId, claim.requestHash);
    stored.set(claim.transferId, { requestHash: held ?? claim.requestHash, inserted: held === undefined, version: '1', claimedAt: AT });
  }
  return stored;
}

describe('distinctClaims', () => {
  it('keeps the first claim of each id, in arrival order', () => {
    const claims = [claimOf(ID_B, 'h1'), claimOf(ID_A, 'h2'), claimOf(ID_B, 'h3'), claimOf(ID_A, 'h2')];
    expect(distinctClaims(claims)).toEqual([claims[0], claims[1]]);
  });
});

describe('answerClaims', () => {
  it('a retry storm in one batch: the first is new, identical ones replay, another body is reused', () => {
    const claims = [claimOf(ID_A, 'h1'), claimOf(ID_A, 'h1'), claimOf(ID_A, 'h2'), claimOf(ID_A, 'h1')];
    const stored = new Map([[ID_A, { requestHash: 'h1', inserted: true, version: '7', claimedAt: AT }]]);
    const answers = answerClaims(claims, stored);
    expect(kinds(answers)).toEqual(['new', 'replay', 'reused', 'replay']);
    // Every claim that may build the command builds it with the key's first claim time.
    expect(answers.map((a) => ('claimedAt' in a ? a.claimedAt : null))).toEqual([AT, AT, null, AT]);
  });

  it('an id claimed before this batch: every claim compares with the held hash, none is new', () => {
    const claims = [claimOf(ID_A, 'other'), claimOf(ID_A, 'held'), claimOf(ID_B, 'x')];
    const stored = new Map([
      [ID_A, { requestHash: 'held', inserted: false, version: '8', claimedAt: AT }],
      [ID_B, { requestHash: 'x', inserted: true, version: '8', claimedAt: AT }],
    ]);
    expect(kinds(answerClaims(claims, stored))).toEqual(['reused', 'replay', 'new']);
  });

  it('a claim the statement did not answer is a bug, not a guess', () => {
    expect(() => answerClaims([claimOf(ID_A, 'h')], new Map())).toThrow(/got no row back/);
  });

  it('matches one-after-another claims for any mix of ids, bodies and batch cuts', () => {
    // Deterministic pseudo-random mixes: 3 ids, 2 bodies, batches of 1..6 claims.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const ids = [ID_A, ID_B, '00000000-0000-5000-8000-00000000000c'];
    for (let run = 0; run < 200; run++) {
      const reference = new Map<string, string>();
      const table = new Map<string, string>();
      for (let batchNo = 0; batchNo < 4; batchNo++) {
        const batch = Array.from({ length: 1 + next(6) }, () => claimOf(ids[next(3)]!, `h${next(2)}`));
        const expected = sequentially(reference, batch);
        expect(kinds(answerClaims(batch, statement(table, batch)))).toEqual(expected);
      }
    }
  });
});

describe('IdempotencyClaims (batching, against a fake pool)', () => {
  /** A pool whose statements the test completes by hand. */
  function fakePool() {
    const statements: { ids: string[]; hashes: string[]; answer(): void; fail(error: Error): void }[] = [];
    const table = new Map<string, string>();
    const pool = {
      query: (_sql: string, params: [string[], string[], string[]]) =>
        new Promise((resolve, reject) => {
          const [ids, , hashes] = params;
          statements.push({
            ids,
            hashes,
            answer: () => {
              const rows = ids.map((id, i) => {
                const held = table.get(id);
                if (held === undefined) table.set(id, hashes[i]!);
                return { transfer_id: id, request_hash: held ?? hashes[i]!, inserted: held === undefined, version: '1', created_at: new Date(AT) };
              });
              resolve({ rows });
            },
            fail: reject,
          });
        }),
    };
    return { pool: pool as unknown as Pool, statements };
  }
  const idFor = (n: number) => `00000000-0000-5000-8000-${n.toString(16).padStart(12, '0')}`;
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('claims of one turn share a statement; duplicates are not sent twice', async () => {
    const { pool, statements } = fakePool();
    const claims = new IdempotencyClaims(pool);
    const answers = Promise.all([claims.claim(ID_A, 'alice', 'h1'), claims.claim(ID_A, 'alice', 'h1'), claims.claim(ID_B, 'alice', 'h2')]);
    await turn();
    expect(statements).toHaveLength(1);
    expect(statements[0]!.ids).toEqual([ID_A, ID_B]);
    statements[0]!.answer();
    expect(kinds(await answers)).toEqual(['new', 'replay', 'new']);
  });

  it('keeps at most concurrentFlushesMax statements in flight and batchSizeMax claims per statement', async () => {
    const { pool, statements } = fakePool();
    const claims = new IdempotencyClaims(pool, { batchSizeMax: 3, concurrentFlushesMax: 2 });
    const answers = Promise.all(Array.from({ length: 10 }, (_, n) => claims.claim(idFor(n), 'alice', 'h')));
    await turn();
    expect(statements.map((s) => s.ids.length)).toEqual([3, 3]);
    expect(claims.queued).toBe(4);
    statements[0]!.answer();
    await turn();
    expect(statements.map((s) => s.ids.length)).toEqual([3, 3, 3]);
    statements[1]!.answer();
    await turn();
    statements[2]!.answer();
    await turn();
    expect(statements.map((s) => s.ids.length)).toEqual([3, 3, 3, 1]);
    statements[3]!.answer();
    expect(kinds(await answers)).toEqual(Array(10).fill('new'));
  });

  it('a failed statement rejects every claim of its batch, and only those', async () => {
    const { pool, statements } = fakePool();
    const claims = new IdempotencyClaims(pool, { batchSizeMax: 2, concurrentFlushesMax: 2 });
    const first = [claims.claim(idFor(1), 'alice', 'h'), claims.claim(idFor(2), 'alice', 'h')];
    const second = [claims.claim(idFor(3), 'alice', 'h')];
    await turn();
    const down = new Error('Connection terminated unexpectedly');
    statements[0]!.fail(down);
    statements[1]!.answer();
    for (const claim of first) await expect(claim).rejects.toBe(down);
    expect(kinds(await Promise.all(second))).toEqual(['new']);
  });

  it('refuses an id that is not a lower-case UUID (the answer is matched by what Postgres returns)', async () => {
    const { pool } = fakePool();
    await expect(new IdempotencyClaims(pool).claim(ID_A.toUpperCase(), 'alice', 'h')).rejects.toBeInstanceOf(TypeError);
  });
});
