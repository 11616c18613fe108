/**
 * Each principal's share of this process's long polls: at most `perPrincipalMax` of its
 * requests wait at once (`?wait_ms` on a transfer or hold, a PATCH waiting for its account
 * change). Past it, its next long poll answers at once with the current state, as one past
 * the process-wide `API_LONG_POLLS_MAX` does: the client simply polls again.
 *
 * Why: the waiter map is bounded for the whole process, so without a share one principal
 * polling hard could hold every slot, and every other client's long polls would answer at
 * once (an outside review of what one client can exhaust). The in-flight share
 * (API_IN_FLIGHT_PER_PRINCIPAL_MAX) bounds a principal's requests, not its long polls among
 * them.
 */
export class LongPollShares {
  private readonly waiting = new Map<string, number>();

  constructor(private readonly perPrincipalMax: number) {}

  /** A slot for `principal`, and how to give it back (idempotent); null when its share is used up. */
  take(principal: string): (() => void) | null {
    const current = this.waiting.get(principal) ?? 0;
    if (current >= this.perPrincipalMax) return null;
    this.waiting.set(principal, current + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.waiting.get(principal) ?? 1) - 1;
      if (left > 0) this.waiting.set(principal, left);
      else this.waiting.delete(principal);
    };
  }
}
