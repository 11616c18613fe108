/**
 * The local service stack (infra/local/stack.sh) as the chaos run sees it: whether it runs,
 * its addresses, and the service-level faults (restart, kill, start). Every call goes
 * through stack.sh, which signals only the processes it recorded itself.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export type Service = 'kafka' | 'postgres' | 'pgbouncer' | 'redis';
export const SERVICES: readonly Service[] = ['kafka', 'postgres', 'pgbouncer', 'redis'];

export interface StackEnv {
  kafkaBrokers: string;
  /** Through PgBouncer (the wildcard database entry reaches any database name), per app role. */
  apiDatabaseUrl: string;
  workerDatabaseUrl: string;
  /** Straight to Postgres: CREATE/DROP DATABASE, migrations, the proof's reads. */
  databaseDirectUrl: string;
  redisUrl: string;
}

/** A service operation may take this long at most (a Kafka stop alone may take 30 s). */
const STACK_COMMAND_TIMEOUT_MS = 180_000;

const said = (r: { stdout: string; stderr: string }) =>
  `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');

export class Stack {
  private readonly script: string;

  constructor(
    private readonly root: string,
    readonly profile: string,
  ) {
    this.script = join(root, 'infra', 'local', 'stack.sh');
  }

  /** True when all four services run (stack.sh status exits 0 only then). */
  async allRunning(): Promise<boolean> {
    return (await this.run(['status'], 30_000)).code === 0;
  }

  /** Which services are running right now. */
  async running(): Promise<Set<Service>> {
    const { stdout } = await this.run(['status'], 30_000);
    const up = new Set<Service>();
    for (const line of stdout.split('\n')) {
      const match = /^\s+(kafka|postgres|pgbouncer|redis)\s+running/.exec(line);
      if (match) up.add(match[1] as Service);
    }
    return up;
  }

  async up(): Promise<void> {
    await this.must(['up'], 600_000);
  }

  async down(): Promise<void> {
    await this.must(['down']);
  }

  async env(): Promise<StackEnv> {
    const { stdout } = await this.must(['env'], 30_000);
    const vars = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match) vars.set(match[1]!, match[2]!);
    }
    const get = (name: string) => {
      const value = vars.get(name);
      if (!value) throw new Error(`stack.sh env did not print ${name}`);
      return value;
    };
    return {
      kafkaBrokers: get('KAFKA_BROKERS'),
      apiDatabaseUrl: get('API_DATABASE_URL'),
      workerDatabaseUrl: get('WORKER_DATABASE_URL'),
      databaseDirectUrl: get('DATABASE_DIRECT_URL'),
      redisUrl: get('REDIS_URL'),
    };
  }

  /** Each returns what stack.sh said (stdout and stderr, one line each, joined by '; '). */
  restart(service: Service): Promise<string> {
    return this.must(['restart-service', service]).then(said);
  }

  kill(service: Service): Promise<string> {
    return this.must(['kill-service', service]).then(said);
  }

  /** SIGSTOP / SIGCONT by the pid stack.sh recorded. */
  pause(service: Service): Promise<string> {
    return this.must(['pause-service', service]).then(said);
  }

  resume(service: Service): Promise<string> {
    return this.must(['resume-service', service]).then(said);
  }

  start(service: Service): Promise<string> {
    return this.must(['start-service', service]).then(said);
  }

  private async must(args: string[], timeoutMs = STACK_COMMAND_TIMEOUT_MS): Promise<{ stdout: string; stderr: string }> {
    const result = await this.run(args, timeoutMs);
    if (result.code !== 0) {
      const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
      throw new Error(`stack.sh ${args.join(' ')} exited ${result.code}:\n${tail}`);
    }
    return result;
  }

  private run(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        'bash',
        [this.script, ...args],
        { cwd: this.root, env: { ...process.env, LL_PROFILE: this.profile }, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
    });
  }
}
