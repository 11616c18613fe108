export * from './client';
export { type BreakerState, RedisCircuitOpenError, describeBreakerChange } from './breaker';
export * from './keys';
export * from './balance-cache';
export * from './accepted';
export * from './status';
