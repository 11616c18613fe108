/**
 * Every key lives under a configurable prefix, so test files (and several deployments on
 * one Redis) never see each other's keys. One function per key family keeps the layout in
 * one place:
 *
 *   {prefix}bal:{accountId}                 hash   balance, seq, currency, as_of, held, rev
 *   {prefix}acc:{transferId}                string JSON accepted-transfer record (until applied; then the applied mark, 60 s)
 *   {prefix}transfer-status                 pub/sub channel, JSON array of transfer ids
 *
 */
export class Keys {
  constructor(readonly prefix: string) {}

  balance(accountId: string): string {
    return `${this.prefix}bal:${accountId}`;
  }

  accepted(transferId: string): string {
    return `${this.prefix}acc:${transferId}`;
  }

  statusChannel(): string {
    return `${this.prefix}transfer-status`;
  }
}
