export * from './client';
export * from './topics';
export * from './errors';
export * from './batching-producer';
export * from './probe';
export * from './partition-consumer';
export * from './admin';
