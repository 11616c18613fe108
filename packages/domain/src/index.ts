export * from './limits';
export * from './money';
export * from './routing';
export * from './ids';
export * from './model';
export * from './apply';
export * from './clock';
