/**
 * Issue 13's money features under chaos: holds placed on the random accounts with short
 * expiries (1-3 s when left to expire, 2-15 s otherwise), then captured (partly, mostly across partitions), voided or left to
 * expire; and reversals of part of acknowledged transfers by their destination's owner.
 *
 * Every request is retried with the SAME Idempotency-Key until it gets a definite answer,
 * like the main load, and written into `HoldBook`. The proof (`checkHolds`, proof.ts) then
 * asks Postgres: every acknowledged hold, capture and reversal was applied once; every hold
 * ended (nothing stays HELD past its expiry: the expiry ran through every fault); a CAPTURED
 * hold has exactly the capture the books sent; and reconcile's held/holds/reversals checks.
 */
import { randomUUID } from 'node:crypto';
import { holdIdFor, transferIdFor } from '@ledgerline/domain';
import type { LedgerBooks } from './ledger-books';
import { type AccountInfo, type RunControl, type World, http, untilDefinite } from './load';
import type { Rng } from './random';

const POST_TIMEOUT_MS = 10_000;

export interface HoldEntry {
  key: string;
  accountId: string;
  /** holdIdFor(owner, key): what the API and the worker call it, answered or not. */
  id: string;
  outcome: 'in-flight' | 'acknowledged' | 'refused' | 'unknown';
  follow: 'capture' | 'void' | 'expire';
}

export interface FollowEntry {
  kind: 'CAPTURE' | 'VOID' | 'REVERSAL';
  key: string;
  /** The hold (captures, voids) or the original transfer (reversals). */
  target: string;
  /** transferIdFor(owner, key) for a capture or reversal (the hold's id for a void). */
  id: string;
  outcome: 'in-flight' | 'acknowledged' | 'refused' | 'unknown';
}

export class HoldBook {
  readonly holds: HoldEntry[] = [];
  readonly follows: FollowEntry[] = [];
  /** Ids of the CAPTURE and REVERSAL transfers the books sent (acknowledged or not). */
  sentTransferIds(): Set<string> {
    return new Set(this.follows.filter((f) => f.kind !== 'VOID').map((f) => f.id));
  }
}

export class HoldLoad {
  readonly book = new HoldBook();
  private readonly tasks = new Set<Promise<void>>();
  private ticker: NodeJS.Timeout | null = null;
  private counter = 0;

  constructor(
    private readonly world: World,
    private readonly books: LedgerBooks,
    private readonly rng: Rng,
    private readonly control: RunControl,
    private readonly ratePerS: number,
  ) {}

  start(): void {
    let credit = 0;
    let last = Date.now();
    this.ticker = setInterval(() => {
      const now = Date.now();
      credit += ((now - last) / 1000) * this.ratePerS;
      last = now;
      while (credit >= 1) {
        credit -= 1;
        if (this.tasks.size >= 50) continue;
        this.track(this.rng.chance(0.75) ? this.holdCycle() : this.reversal());
      }
    }, 50);
  }

  stopIssuing(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((error) => {
      process.stderr.write(`chaos: hold load task failed: ${(error as Error).stack ?? error}\n`);
    });
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  private pick(): AccountInfo {
    return this.world.random[this.rng.int(0, this.world.random.length - 1)]!;
  }

  private async post(path: string, account: AccountInfo, key: string, body: unknown): Promise<'acknowledged' | 'refused' | 'unknown'> {
    const { definite, last } = await untilDefinite(
      this.control,
      this.rng,
      () => http(this.world.apiUrl, this.control, { method: 'POST', path, token: account.owner.token, key, body, timeoutMs: POST_TIMEOUT_MS }),
      () => undefined,
    );
    if (!definite) return 'unknown';
    return last.attempt.status !== null && last.attempt.status >= 200 && last.attempt.status < 300 ? 'acknowledged' : 'refused';
  }

  private async holdCycle(): Promise<void> {
    const account = this.pick();
    const roll = this.rng.next();
    const key = `hold.${this.counter++}.${randomUUID().slice(0, 8)}`;
    const entry: HoldEntry = {
      key,
      accountId: account.id,
      id: holdIdFor(account.owner.name, key),
      outcome: 'in-flight',
      follow: roll < 0.4 ? 'capture' : roll < 0.65 ? 'void' : 'expire',
    };
    this.book.holds.push(entry);
    const amount = BigInt(this.rng.int(1, 200));
    // Left to expire: 1-3 s. Captured or voided: 2-15 s, so that under the run's latencies
    // most follow-ups land in time and some still race the expiry.
    const expiresInS = entry.follow === 'expire' ? this.rng.int(1, 3) : this.rng.int(2, 15);
    const placed = await this.post('/v1/holds', account, entry.key, { account_id: account.id, amount: amount.toString(), currency: 'USD', expires_in_s: expiresInS });
    entry.outcome = placed;
    if (placed !== 'acknowledged' || entry.follow === 'expire') return;
    // Some follow-ups land before the expiry, some race it, some come too late.
    await this.control.sleep(this.rng.int(0, 2_500));
    if (!this.control.issuing) return;
    const followKey = `${entry.key}.${entry.follow}`;
    const follow: FollowEntry = {
      kind: entry.follow === 'capture' ? 'CAPTURE' : 'VOID',
      key: followKey,
      target: entry.id,
      id: entry.follow === 'capture' ? transferIdFor(account.owner.name, followKey) : entry.id,
      outcome: 'in-flight',
    };
    this.book.follows.push(follow);
    const path = `/v1/holds/${entry.id}/${entry.follow}`;
    const destination = this.pick();
    const body = entry.follow === 'capture' ? { to_account_id: destination.id === account.id ? this.world.hot.id : destination.id, amount: (amount - BigInt(this.rng.int(0, Number(amount) - 1))).toString() } : {};
    follow.outcome = await this.post(path, account, follow.key, body);
  }

  private async reversal(): Promise<void> {
    // A transfer the main load had acknowledged between two random accounts: its destination
    // pays. Never one from a sequential client's account (its order proof replays exactly the
    // money it sent) or the hot account.
    const isRandom = (id: string | undefined) => this.world.random.some((a) => a.id === id);
    const candidates = this.books.acknowledged().filter((m) => m.kind === 'TRANSFER' && isRandom(m.body.to_account_id) && isRandom(m.body.from_account_id));
    if (candidates.length === 0) return;
    const original = candidates[this.rng.int(0, candidates.length - 1)]!;
    const payer = this.world.random.find((a) => a.id === original.body.to_account_id)!;
    const key = `reversal.${this.counter++}.${randomUUID().slice(0, 8)}`;
    const follow: FollowEntry = { kind: 'REVERSAL', key, target: original.transferId, id: transferIdFor(payer.owner.name, key), outcome: 'in-flight' };
    this.book.follows.push(follow);
    const amount = BigInt(this.rng.int(1, Number(BigInt(original.body.amount!))));
    follow.outcome = await this.post(`/v1/transfers/${original.transferId}/reversals`, payer, key, { amount: amount.toString() });
  }
}
