// Proves /openapi.json describes every route the app serves, from the same zod schemas that validate requests.
import type { Express } from 'express';
import { openApiDocument } from '../src/openapi';
import { buildTestApp } from './support/fakes';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

function servedRoutes(app: Express): string[] {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) => Object.keys(layer.route!.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`));
}

describe('openApiDocument', () => {
  const doc = openApiDocument();

  it('has an operation for every route the app serves, and no other', () => {
    const { app } = buildTestApp();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(servedRoutes(app).sort()).toEqual(documented.sort());
    expect(documented.length).toBeGreaterThanOrEqual(13);
  });

  it('describes request bodies with the validation rules', () => {
    const transfer = doc.components.schemas.TransferRequest as { properties: Record<string, { pattern?: string }>; required: string[]; additionalProperties: boolean };
    expect(transfer.required.sort()).toEqual(['amount', 'currency', 'from_account_id', 'to_account_id']);
    expect(transfer.properties.amount?.pattern).toBeDefined();
    expect(transfer.additionalProperties).toBe(false);
    const entries = doc.paths['/v1/accounts/{id}/entries'].get.parameters.map((p) => (p as { name: string }).name);
    expect(entries).toEqual(['id', 'limit', 'cursor']);
  });

  it('is plain JSON (serialisable, no $schema per component)', () => {
    const text = JSON.stringify(doc);
    expect(JSON.parse(text).openapi).toBe('3.1.0');
    expect(text).not.toContain('"$schema"');
  });
});
