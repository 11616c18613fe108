// Custom metrics shared by every scenario. Trends are in milliseconds (isTime = true).
import { Counter, Rate, Trend } from 'k6/metrics';

/** POST /v1/transfers answered 2xx: time to the answer (the ack: durable in Kafka for the API,
 * committed for the synchronous baseline). */
export const ackMs = new Trend('ack_ms', true);
/** 1 for a POST that did not get a 2xx with a transfer id (429, 503, 4xx, timeout...). */
export const transferFailed = new Rate('transfer_failed');
/** POSTs answered 2xx (one per iteration in retry-storm). */
export const transfersAcked = new Counter('transfers_acked');
/** Sampled: from the 2xx answer to seeing status COMPLETED (long poll). */
export const e2eMs = new Trend('e2e_ms', true);
/** Sampled: 1 when the transfer COMPLETED and both balances (and the journal) show it. */
export const moneyMoved = new Rate('money_moved');
/** Sampled transfers checked (money_moved's samples): a rate with none passes its threshold. */
export const transfersVerified = new Counter('transfers_verified');
/** Balance reads of the read-heavy scenario. */
export const readMs = new Trend('read_ms', true);
export const readFailed = new Rate('read_failed');
/** retry-storm: 1 when all copies of a request got 2xx and named the same transfer. */
export const replayConsistent = new Rate('replay_consistent');
