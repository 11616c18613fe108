/**
 * Every key lives under a configurable prefix, so test files (and several deployments on
 * one Redis) never see each other's keys. One function per key family keeps the layout in
 * one place:
 *
 *   {prefix}bal:{accountId}                 hash   balance, seq, currency, as_of
 *   {prefix}idem:{len(principal)}:{principal}:{key}
 *                                           string JSON {requestHash, transferId}
 *   {prefix}acc:{transferId}                string JSON accepted-transfer record
 *   {prefix}transfer-status                 pub/sub channel, JSON array of transfer ids
 *
 * The principal's length is part of the idempotency key so that no (principal, key) pair
 * can be spelled like another when either contains ':'.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  balance(accountId: string): string {
    return `${this.prefix}bal:${accountId}`;
  }

  idempotency(principal: string, key: string): string {
    return `${this.prefix}idem:${principal.length}:${principal}:${key}`;
  }

  accepted(transferId: string): string {
    return `${this.prefix}acc:${transferId}`;
  }

  statusChannel(): string {
    return `${this.prefix}transfer-status`;
  }
}
