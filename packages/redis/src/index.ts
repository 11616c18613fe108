export * from './client';
export * from './keys';
export * from './balance-cache';
export * from './accepted';
export * from './status';
