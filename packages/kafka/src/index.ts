// First: it replaces a module of kafkajs's producer, which takes it when it loads.
export { messageGroupingReplaced } from './message-grouping';
export * from './client';
export { type TopicDurability, type TopicNames, SINGLE_BROKER_DURABILITY, topicForOutbox, topicNames } from './topics';
export * from './errors';
export * from './messages';
export * from './batching-producer';
export * from './bulk-producer';
export * from './probe';
export * from './partition-consumer';
export { isGroupRejoin } from './group-rejoin';
export { settledWithin } from './settled-within';
export * from './admin';
export type { PartitionEnd } from './log-end';
