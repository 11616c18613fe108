import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';

/**
 * A Lua script run with EVALSHA. The SHA is computed locally, so the first call needs no
 * SCRIPT LOAD; when Redis answers NOSCRIPT (it restarted empty, or someone ran SCRIPT
 * FLUSH) the script is loaded again and the call retried once.
 */
export class LuaScript {
  readonly sha: string;

  private constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  static fromFile(name: string): LuaScript {
    return new LuaScript(name, readFileSync(join(__dirname, 'lua', `${name}.lua`), 'utf8'));
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await client.script('LOAD', this.source);
      return client.evalsha(this.sha, keys.length, ...keys, ...args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
