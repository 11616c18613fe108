/**
 * Each app has one config module: a zod object over process.env, parsed once at start.
 * This package holds the shared pieces: the parse that turns issues into one clear message,
 * and field builders that name their unit and bounds.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const value = env[name];
    return `  ${name}=${value === undefined ? '(unset)' : JSON.stringify(value)}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** An integer env var with a default and inclusive bounds. */
export function intVar(defaultValue: number, min: number, max: number) {
  return z.coerce
    .number({ message: 'must be a number' })
    .int('must be an integer')
    .min(min, `must be >= ${min}`)
    .max(max, `must be <= ${max}`)
    .default(defaultValue);
}

export function stringVar(defaultValue: string) {
  return z.string().min(1, 'must not be empty').default(defaultValue);
}

export function boolVar(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
}

/** Comma-separated host:port list (Kafka brokers). */
export function brokersVar(defaultValue: string) {
  return z
    .string()
    .default(defaultValue)
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((b) => /^[^:\s]+:\d+$/.test(b)), 'must be host:port[,host:port...]');
}

/** The local stack's addresses (infra/local/ports.env, profile dev). */
export const LOCAL_DEFAULTS = {
  kafkaBrokers: '127.0.0.1:19092',
  databaseUrl: 'postgres://ledgerline:ledgerline@127.0.0.1:16432/ledgerline',
  redisUrl: 'redis://127.0.0.1:16379',
  topicPrefix: 'ledger',
  partitionCount: 8,
  jwtSecret: 'dev-secret-change-me',
} as const;

/** The log level of an app (LOG_LEVEL): pino's levels, `silent` for none. */
export function logLevelVar(defaultValue: 'info' | 'debug' | 'warn' = 'info') {
  return z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be a pino level (fatal..trace, silent)' }).default(defaultValue);
}

/**
 * `promise`, or a rejection once `timeoutMs` has passed (AbortSignal.timeout: its timer is
 * unref'd, so a bounded probe never keeps the process alive). For the calls that take no
 * signal of their own: the call itself keeps running, only the wait is bounded.
 */
export function within<T>(promise: Promise<T>, timeoutMs: number, what = 'no answer'): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error(`${what} within ${timeoutMs} ms`)), { once: true });
  });
  timedOut.catch(() => undefined); // the usual case: the promise won and nobody awaits this one
  return Promise.race([promise, timedOut]);
}
