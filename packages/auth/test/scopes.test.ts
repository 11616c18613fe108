import { SCOPES, canRead, canWrite, isAdmin, parseScopes, unknownScopes } from '../src/scopes';

describe('scopes', () => {
  it('names the scopes that grant nothing, in the order given', () => {
    expect(unknownScopes('ledger:read ledger:write')).toEqual([]);
    expect(unknownScopes('ledger:admin')).toEqual([]);
    expect(unknownScopes('ledger:reed ledger:write  foo')).toEqual(['ledger:reed', 'foo']);
    expect(unknownScopes('LEDGER:READ')).toEqual(['LEDGER:READ']);
    expect(unknownScopes('')).toEqual([]);
    expect(SCOPES).toEqual(['ledger:read', 'ledger:write', 'ledger:admin']);
  });

  it('write does not imply read; admin implies both', () => {
    const as = (scope: string) => ({ principal: 'p', scopes: parseScopes(scope)! });
    expect([canRead(as('ledger:write')), canWrite(as('ledger:write'))]).toEqual([false, true]);
    expect([canRead(as('ledger:admin')), canWrite(as('ledger:admin')), isAdmin(as('ledger:admin'))]).toEqual([true, true, true]);
    expect([canRead(as('foo')), canWrite(as('foo'))]).toEqual([false, false]);
  });
});
