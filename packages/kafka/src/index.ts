export * from './client';
export { type TopicDurability, type TopicNames, SINGLE_BROKER_DURABILITY, topicForOutbox, topicNames } from './topics';
export * from './errors';
export * from './messages';
export * from './batching-producer';
export * from './bulk-producer';
export * from './probe';
export * from './partition-consumer';
export * from './admin';
