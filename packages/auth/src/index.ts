export * from './errors';
export * from './scopes';
export * from './verify';
export * from './sign';
