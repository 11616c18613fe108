/**
 * The Lua scripts of `lua/` as commands of one connection (ioredis `defineCommand`): a call
 * sends EVALSHA and falls back to EVAL when Redis answers NOSCRIPT (restarted empty, SCRIPT
 * FLUSH), inside pipelines too. Each script's header states its KEYS and ARGV. The build
 * copies `lua/` beside each app's bundle (scripts/build.mjs), so `__dirname/lua` holds them
 * in both layouts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';

/** A script call: how many of the arguments are keys, then the keys, then the other arguments. */
export type ScriptCommand = (keyCount: number, ...keysThenArgs: string[]) => Promise<unknown>;

const sources = new Map<string, string>();

/** `file` (e.g. `refresh-balances.lua`) as a command of `redis`, defined once per connection. */
export function scriptCommand(redis: Redis, file: string): ScriptCommand {
  const name = file.replace(/\.lua$/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  if (!(name in redis)) {
    let lua = sources.get(file);
    if (lua === undefined) {
      lua = readFileSync(join(__dirname, 'lua', file), 'utf8');
      sources.set(file, lua);
    }
    redis.defineCommand(name, { lua });
  }
  const command = (redis as unknown as Record<string, ScriptCommand>)[name];
  if (typeof command !== 'function') throw new Error(`script ${file} is not a command of this connection`);
  return command.bind(redis);
}
