/**
 * The transfer mix, the same as the k6 scenarios' (loadtest/k6/lib/transfer.js): uniform
 * pairs, or "hot": 90% of transfers into or out of the merchant (45% each way), 10% uniform.
 * Seeded, so a drain backlog or a ceiling run is the same from one bench run to the next.
 */
import { type TransferCommand, transferIdFor } from '@ledgerline/domain';
import { type FixtureAccount, requestHash } from './fixture';

export type Mix = 'uniform' | 'hot';
const HOT_SHARE = 0.9;

/** mulberry32: small, fast, good enough to draw accounts. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class PairPicker {
  constructor(
    private readonly accounts: readonly FixtureAccount[],
    private readonly merchant: FixtureAccount,
    private readonly mix: Mix,
    private readonly random: () => number,
  ) {
    if (accounts.length < 2) throw new Error('the workload needs at least two accounts');
  }

  private any(): FixtureAccount {
    return this.accounts[Math.floor(this.random() * this.accounts.length)]!;
  }

  private otherThan(account: FixtureAccount): FixtureAccount {
    for (;;) {
      const candidate = this.any();
      if (candidate.id !== account.id) return candidate;
    }
  }

  next(): { from: FixtureAccount; to: FixtureAccount } {
    const r = this.random();
    if (this.mix === 'hot' && r < HOT_SHARE / 2) return { from: this.merchant, to: this.any() };
    if (this.mix === 'hot' && r < HOT_SHARE) return { from: this.any(), to: this.merchant };
    const from = this.any();
    return { from, to: this.otherThan(from) };
  }
}

export function randomAmount(random: () => number, amountMax = 100): bigint {
  return BigInt(1 + Math.floor(random() * amountMax));
}

/**
 * The next transfer of the mix as the API would have encoded it, sent with Idempotency-Key
 * `key` by the source account's owner (the drain's backlog and the ceiling's queues).
 */
export function nextTransfer(
  picker: PairPicker,
  random: () => number,
  run: { currency: string; tag: string; acceptedAt: string },
  key: string,
): TransferCommand {
  const { from, to } = picker.next();
  return {
    type: 'TRANSFER',
    transferId: transferIdFor(from.owner, key),
    fromAccountId: from.id,
    toAccountId: to.id,
    description: run.tag,
    amount: randomAmount(random),
    currency: run.currency,
    principal: from.owner,
    admin: false,
    requestHash: requestHash(key),
    acceptedAt: run.acceptedAt,
  };
}
