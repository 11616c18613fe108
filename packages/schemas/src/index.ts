export * from './primitives';
export * from './commands';
export * from './events';
export * from './http';
export * from './command-seal';
export * from './json-text';
