export * from './client';
export { type BreakerState, RedisCircuitOpenError, reportBreakerChanges } from './breaker';
export * from './keys';
export * from './balance-cache';
export * from './accepted';
export * from './status';
export { isWrongType, shown } from './stored';
