// Proves /openapi.json describes every route the app serves, from the same zod schemas that validate requests.
import { openApiDocument } from '../src/openapi';

describe('openApiDocument', () => {
  const doc = openApiDocument();

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
