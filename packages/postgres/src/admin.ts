/**
 * Administration outside the apps' pools: statements that cannot run inside a transaction or
 * through PgBouncer (CREATE/DROP DATABASE, CREATE EXTENSION) go to Postgres directly, on a
 * one-off connection. Used by the test support, the chaos run and the bench, which create
 * and drop databases of their own.
 */
import { Client } from 'pg';

/** The same connection URL, naming another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs one statement on its own connection (opened and closed here). */
export async function runAdminStatement(directUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `url` logging in as the user (and password) of `credentialsFrom`: the same server, another role. */
export function withCredentials(url: string, credentialsFrom: string): string {
  const parsed = new URL(url);
  const source = new URL(credentialsFrom);
  parsed.username = source.username;
  parsed.password = source.password;
  return parsed.toString();
}

/** The login name in a Postgres URL. */
export function userOf(url: string): string {
  return decodeURIComponent(new URL(url).username);
}
