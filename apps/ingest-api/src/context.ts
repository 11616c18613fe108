/** Everything a route handler may use, built once by buildApp from the injected ports. */
import type { LongPollShares } from './long-poll-shares';
import type { Database } from '@ledgerline/postgres';
import type { TokenVerifier } from '@ledgerline/auth';
import type { Clock } from '@ledgerline/domain';
import type { CommandSeal } from '@ledgerline/schemas';
import type { IdempotencyClaims } from '@ledgerline/postgres';
import type { AccountDirectory } from './account-directory';
import type { BatchAdmission } from './batch-admission';
import type { ApiConfig } from './config';
import type { ApiMetrics } from './metrics';
import type { RequestLimiter } from './rate-limits';
import type { CommandPublisher, KafkaCheck, RedisPorts, RoutingProvider } from './ports';

export interface AppContext {
  readonly config: ApiConfig;
  readonly pool: Database;
  /** Claims Idempotency-Keys in batches through `pool`. */
  readonly claims: IdempotencyClaims;
  readonly redis: RedisPorts;
  readonly publisher: CommandPublisher;
  readonly routing: RoutingProvider;
  readonly checkKafka: KafkaCheck;
  readonly verifier: TokenVerifier;
  readonly limiter: RequestLimiter;
  readonly directory: AccountDirectory;
  /** Bounds the batch items worked on at once (POST /v1/batch). */
  readonly batchAdmission: BatchAdmission;
  /** Bounds one principal's long polls waiting at once. */
  readonly longPollShares: LongPollShares;
  readonly metrics: ApiMetrics;
  readonly commandsTopic: string;
  /** Seals the commands a ledger:admin principal asks for, so workers can tell them from forged ones. */
  readonly seal: CommandSeal;
  readonly clock: Clock;
  log(line: string): void;
  /** Logs `line` at most once per interval for each `key`: an outage must not flood the log. */
  warn(key: string, line: string): void;
}
