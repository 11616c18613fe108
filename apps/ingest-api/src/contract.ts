/**
 * The contract's generated files: packages/client/openapi.json (the document, for clients
 * that read it, like k6 scenarios or other languages) and packages/client/src/schema.ts
 * (its TypeScript types, by openapi-typescript, which the typed client of packages/client
 * is built on). Both are committed: a change of the route table shows up in review as a
 * change of the contract, and a unit test fails while they are stale.
 *
 *   npm run client:generate        rewrite both from the route table
 *   npm run client:check           exit 1 if either is stale (also part of `npm run check`)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { apiDocument } from './routes';

const CLIENT_DIR = join(__dirname, '..', '..', '..', 'packages', 'client');

const HEADER = `/**
 * GENERATED from the ingest API's route table by \`npm run client:generate\`
 * (apps/ingest-api/src/contract.ts, openapi-typescript). Do not edit by hand.
 */
`;

export interface ContractFile {
  path: string;
  text: string;
}

export async function contractFiles(): Promise<ContractFile[]> {
  const document = apiDocument();
  // defaultNonNullable off: a request field with a default (overdraft_limit) stays optional.
  const types = astToString(await openapiTS(document as never, { silent: true, defaultNonNullable: false }));
  return [
    { path: join(CLIENT_DIR, 'openapi.json'), text: `${JSON.stringify(document, null, 2)}\n` },
    { path: join(CLIENT_DIR, 'src', 'schema.ts'), text: `${HEADER}${types}` },
  ];
}

/** The generated files whose committed text differs from what the route table gives now. */
export async function staleContractFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const file of await contractFiles()) {
    let committed: string | null = null;
    try {
      committed = readFileSync(file.path, 'utf8');
    } catch {
      // missing: stale
    }
    if (committed !== file.text) stale.push(file.path);
  }
  return stale;
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const stale = await staleContractFiles();
    if (stale.length > 0) {
      process.stderr.write(`stale generated contract files (run npm run client:generate):\n${stale.map((p) => `  ${p}\n`).join('')}`);
      process.exit(1);
    }
    return;
  }
  for (const file of await contractFiles()) writeFileSync(file.path, file.text);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
