// Proves that input Postgres could not store, or that could exhaust the API, is refused at the
// HTTP border with a 400 naming the field, and never reaches Kafka: a lone UTF-16 surrogate in
// a body field, a metadata key or the JWT `sub`; metadata nested thousands of levels deep or
// with too many keys; a number beyond a double's range; a key repeated in one object (in a body
// or a token); a malformed percent-escape in the path. Against the real API, Kafka,
// Postgres through PgBouncer and Redis.
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { signDevToken } from '@ledgerline/auth';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, TEST_JWT_SECRET, startApi, token } from '../../../test/support/api';

/** 2,000 header lines of 6 bytes: Node's default maxHeadersCount, far under the 16 KiB of maxHeaderSize. */
const FILLER_HEADERS = 'a: 1\r\n'.repeat(2000);

describe('hostile input at the HTTP border', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let alice: Client;
  let account: string;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    alice = new Client(api.url, await token('alice'));
    const opened = await alice.post('/v1/accounts', { currency: 'USD' });
    expect(opened.status).toBe(201);
    account = opened.body.id;
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  async function commandsPublished(): Promise<number> {
    const watermarks = await topics.admin.highWatermarks(topics.names.commands);
    return [...watermarks.values()].reduce((sum, high) => sum + Number(high), 0);
  }

  test('a lone surrogate in a transfer description is a 400 naming the field, and nothing is published', async () => {
    const before = await commandsPublished();
    // Valid JSON (the escape is legal), but not Unicode text: jsonb refuses it.
    const raw = `{"from_account_id":"${account}","to_account_id":"00000000-0000-4000-8000-000000000001","amount":"1","currency":"USD","description":"x\\udc00y"}`;
    const answer = await alice.request('POST', '/v1/transfers', { raw });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(answer.body.error.details).toEqual([{ path: 'description', message: expect.stringMatching(/well-formed Unicode/) }]);
    expect(await commandsPublished()).toBe(before);
  });

  test('a description with a control character or a bidirectional control is a 400 naming it: it is read by people', async () => {
    const before = await commandsPublished();
    const transfer = (description: string) =>
      alice.post('/v1/transfers', { from_account_id: account, to_account_id: '00000000-0000-4000-8000-000000000001', amount: '1', currency: 'USD', description });
    for (const odd of ['\u001b[31mrefund\u001b[0m', 'invoice\n42', 'txt\u202Eexe.pdf', 'a\u2066b', 'bell\u0007', 'c1\u0085', 'line\u2028break', 'para\u2029graph', 'old\u206Aformat']) {
      const answer = await transfer(odd);
      expect([JSON.stringify(odd), answer.status, answer.body.error.details]).toEqual([
        JSON.stringify(odd),
        400,
        [{ path: 'description', message: 'must not contain control characters, line separators or bidirectional controls (it is read by people)' }],
      ]);
    }
    expect(await commandsPublished()).toBe(before);
    // Joiners stay (a family emoji, Persian's ZWNJ), and so does any other script.
    expect((await transfer('\u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645 \u00e9t\u00e9')).status).toBe(202);
  });

  test('a lone surrogate or NUL in a metadata key or value is a 400', async () => {
    for (const raw of [
      '{"currency":"USD","metadata":{"k\\ud800":"v"}}',
      '{"currency":"USD","metadata":{"k":{"deep":["\\udfff"]}}}',
      '{"currency":"USD","metadata":{"k":"\\u0000"}}',
    ]) {
      const answer = await alice.request('POST', '/v1/accounts', { raw });
      expect([raw, answer.status, answer.body.error.code]).toEqual([raw, 400, 'VALIDATION_FAILED']);
    }
  });

  test('a JWT whose sub holds a lone surrogate is a 400 naming the claim', async () => {
    const bad = new Client(api.url, await signDevToken({ sub: 'mallory\udc00', scope: 'ledger:read ledger:write', secret: TEST_JWT_SECRET, ttlS: 60 }));
    const answer = await bad.post('/v1/accounts', { currency: 'USD' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ path: 'Authorization.sub', message: expect.any(String) }]);
    const count = await db.pool.query(`SELECT count(*)::int AS n FROM accounts WHERE owner LIKE 'mallory%'`);
    expect(count.rows[0].n).toBe(0);
  });

  test('metadata nested thousands of levels deep inside a small body is a 400, not a 500', async () => {
    const depth = 3_000;
    const raw = `{"currency":"USD","metadata":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    expect(raw.length).toBeLessThan(8_192);
    const answer = await alice.request('POST', '/v1/accounts', { raw });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].message).toMatch(/nests deeper than/);
  });

  test('metadata beyond its depth or key-count bound is a 400; within them it is stored', async () => {
    const tooDeep = { a: { b: { c: { d: { e: 1 } } } } };
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    for (const metadata of [tooDeep, tooMany]) {
      const answer = await alice.post('/v1/accounts', { currency: 'USD', metadata });
      expect(answer.status).toBe(400);
    }
    const fine = await alice.post('/v1/accounts', { currency: 'USD', metadata: { a: { b: { c: 'ok' } }, tags: ['x', 'y'] } });
    expect(fine.status).toBe(201);
  });

  test('a missing Idempotency-Key is one detail, not every rule an empty key breaks', async () => {
    const missing = await alice.post('/v1/accounts', { currency: 'USD' }, null);
    expect([missing.status, missing.body.error.details]).toEqual([400, [{ path: 'Idempotency-Key', message: 'Idempotency-Key header is required' }]]);
  });

  test('a refused metadata key or array says what its bound is', async () => {
    const longKey = await alice.post('/v1/accounts', { currency: 'USD', metadata: { ['k'.repeat(65)]: 1 } });
    expect(longKey.body.error.details).toEqual([{ path: `metadata.${'k'.repeat(65)}`, message: 'keys must be at most 64 characters of text without NUL' }]);
    const longArray = await alice.post('/v1/accounts', { currency: 'USD', metadata: { tags: Array.from({ length: 65 }, (_, i) => i) } });
    expect(longArray.body.error.details).toEqual([{ path: 'metadata.tags', message: expect.stringContaining('an array or object of at most 64 items') }]);
  });

  test('a query past 64 parameters is a 400, not read with its tail dropped; a route that takes no query refuses one', async () => {
    // node:querystring keeps the first 1,000 pairs: `at` after 1,000 empty ones was dropped,
    // and the balance now was served as the balance at that instant.
    const padded = await alice.get(`/v1/accounts/${account}/balance?${'&'.repeat(1000)}at=2020-01-01T00:00:00Z`);
    expect([padded.status, padded.body.error.details]).toEqual([400, [{ path: '(query)', message: 'has more than 64 parameters' }]]);
    const atThen = await alice.get(`/v1/accounts/${account}/balance?${'&'.repeat(10)}at=2020-01-01T00:00:00Z`);
    expect([atThen.status, atThen.body.balance]).toEqual([200, '0']);
    // A flag this route does not know would be ignored while the money moved.
    const before = await commandsPublished();
    const dryRun = await alice.request('POST', '/v1/transfers?dry_run=true', {
      body: { from_account_id: account, to_account_id: '00000000-0000-4000-8000-000000000001', amount: '1', currency: 'USD' },
      key: 'dry-run',
    });
    expect([dryRun.status, dryRun.body.error.details]).toEqual([400, [{ path: 'dry_run', message: 'is not a known query parameter' }]]);
    expect(await commandsPublished()).toBe(before);
    expect((await alice.get(`/v1/accounts/${account}?x=1`)).status).toBe(400);
    // A parameter's name is echoed bounded: it may be kilobytes long.
    const long = await alice.get(`/v1/accounts/${account}?${'n'.repeat(5000)}=1`);
    expect([long.status, long.body.error.details]).toEqual([400, [{ path: `${'n'.repeat(200)}...`, message: 'is not a known query parameter' }]]);
    expect((await alice.get(`/v1/accounts/${account}`)).status).toBe(200);
  });

  test("a batch envelope's unknown key with a lone surrogate is named well-formed, never echoed as sent", async () => {
    const item = `{"kind":"WITHDRAWAL","account_id":"${account}","amount":"1","currency":"USD"}`;
    const answer = await alice.request('POST', '/v1/batch', { raw: `{"items":[${item}],"\\udc00x":1}`, key: 'batch-surrogate-key' });
    expect([answer.status, answer.body.error.details]).toEqual([400, [{ path: '\ufffdx', message: 'is not a known field' }]]);
  });

  test("swagger-ui's files: a Range is ignored (the whole file) and a precondition that fails is a 412, never a 500", async () => {
    const anonymous = new Client(api.url, null);
    const whole = await anonymous.request('GET', '/docs/assets/swagger-ui.css');
    expect([whole.status, whole.headers.get('content-type'), whole.headers.get('cache-control')]).toEqual([200, 'text/css; charset=utf-8', 'public, max-age=86400']);
    for (const range of ['bytes=99999999-', 'bytes=5-1', 'bytes=0-9']) {
      const ranged = await anonymous.request('GET', '/docs/assets/swagger-ui.css', { headers: { range } });
      expect([range, ranged.status, String(ranged.body).length]).toEqual([range, 200, String(whole.body).length]);
    }
    for (const headers of [{ 'if-match': '"x"' }, { 'if-unmodified-since': 'Mon, 01 Jan 1990 00:00:00 GMT' }] as Record<string, string>[]) {
      const refused = await anonymous.request('GET', '/docs/assets/swagger-ui.css', { headers });
      expect([refused.status, refused.body.error?.code]).toEqual([412, 'PRECONDITION_FAILED']);
      // The error is JSON and not the file: none of the stylesheet's headers (its type, a
      // day's public caching a shared cache would serve to everyone) comes with it.
      const describing = ['content-type', 'cache-control', 'last-modified', 'etag', 'accept-ranges'].map((name) => [name, refused.headers.get(name)]);
      expect(describing).toEqual([
        ['content-type', 'application/json; charset=utf-8'],
        ['cache-control', null],
        ['last-modified', null],
        ['etag', null],
        ['accept-ranges', null],
      ]);
    }
    // `If-Match: *` holds for a file that exists (RFC 9110): the file, not a 412.
    const any = await anonymous.request('GET', '/docs/assets/swagger-ui.css', { headers: { 'if-match': '*' } });
    expect([any.status, String(any.body).length]).toEqual([200, String(whole.body).length]);
  });

  test('a malformed percent-escape in the path is a 400, never a 500', async () => {
    for (const path of ['/v1/accounts/%ZZ', '/v1/transfers/%E0%A4%A', '/v1/accounts/%ZZ/balance']) {
      const answer = await alice.get(path);
      expect([path, answer.status]).toEqual([path, 400]);
    }
  });

  test('a malformed percent-escape in the query is a 400 MALFORMED_URL, never read as U+FFFD (an outside review)', async () => {
    const admin = new Client(api.url, await token('ops', 'ledger:admin'));
    for (const query of ['owner=%FF', 'owner=%E0%A4%A', 'owner=caf%E9', 'owner=%zz', 'ow%FFner=alice', 'limit=1&owner=%C0%80']) {
      const answer = await admin.get(`/v1/accounts?${query}`);
      expect([query, answer.status, answer.body.error?.code]).toEqual([query, 400, 'MALFORMED_URL']);
    }
    // Well-formed escapes still read as they decode.
    const fine = await admin.get('/v1/accounts?owner=%61lice&limit=1');
    expect(fine.status).toBe(200);
    expect(fine.body.accounts.map((a: { owner: string }) => a.owner)).toEqual(['alice']);
  });

  async function accountsOwnedBy(owner: string): Promise<number> {
    const count = await db.pool.query(`SELECT count(*)::int AS n FROM accounts WHERE owner = $1`, [owner]);
    return count.rows[0].n;
  }

  test('bytes that are not UTF-8 are a 400, never stored as U+FFFD', async () => {
    const before = await accountsOwnedBy('alice');
    const published = await commandsPublished();
    const bodies: [string, Buffer][] = [
      ['/v1/accounts', Buffer.concat([Buffer.from('{"currency":"USD","metadata":{"a":"caf'), Buffer.from([0xe9]), Buffer.from('!"}}')])],
      // An encoded surrogate (ED A0 80) and an overlong NUL (C0 80): decoders that replace
      // them would store text the client never sent.
      ['/v1/accounts', Buffer.concat([Buffer.from('{"currency":"USD","metadata":{"k'), Buffer.from([0xed, 0xa0, 0x80, 0xc0, 0x80]), Buffer.from('":1}}')])],
      ['/v1/transfers', Buffer.concat([Buffer.from(`{"from_account_id":"${account}","to_account_id":"00000000-0000-4000-8000-000000000001","amount":"1","currency":"USD","description":"A`), Buffer.from([0xff]), Buffer.from('Z"}')])],
    ];
    for (const [path, raw] of bodies) {
      const answer = await alice.request('POST', path, { raw });
      expect([path, answer.status, answer.body.error.code, answer.body.error.message]).toEqual([path, 400, 'MALFORMED_JSON', 'request body is not valid UTF-8']);
    }
    expect(await accountsOwnedBy('alice')).toBe(before);
    expect(await commandsPublished()).toBe(published);
  });

  test('a body in another charset than UTF-8 is a 415: a UTF-7 body cannot smuggle a field past a byte reader', async () => {
    const published = await commandsPublished();
    // Read as bytes, the amount is 1 and the rest a description; decoded as UTF-7, the
    // description ends early and a second "amount" of 5 follows it.
    const utf7 = `{"from_account_id":"${account}","to_account_id":"00000000-0000-4000-8000-000000000001","amount":"1","currency":"USD","description":"x+ACI-,+ACI-amount+ACI-:+ACI-5+ACI-}`;
    const utf16 = Buffer.from(`{"from_account_id":"${account}","to_account_id":"00000000-0000-4000-8000-000000000001","amount":"1","currency":"USD"}`, 'utf16le');
    // The last header hides a "charset=utf-8" inside another parameter's quoted value: a
    // check that reads the header differently from the body's decoder would pass it.
    for (const [contentType, raw] of [
      ['application/json; charset=utf-7', utf7],
      ['application/json; charset=UTF-16LE', utf16],
      ['application/json; charset=utf-32', utf16],
      ['application/json; charset=latin1', '{}'],
      ['application/json; x="a;charset=utf-8;"; charset=utf-7', utf7],
      // Named twice: the parser keeps the first, another reader the last (an outside review).
      ['application/json; charset=utf-8; charset=latin1', '{}'],
      ['application/json; charset=latin1; CHARSET=utf-8', '{}'],
    ] as const) {
      const answer = await alice.request('POST', '/v1/transfers', { raw, headers: { 'content-type': contentType } });
      expect([contentType, answer.status, answer.body.error?.code]).toEqual([contentType, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    expect(await commandsPublished()).toBe(published);
    const utf8 = await alice.request('POST', '/v1/accounts', { raw: '{"currency":"USD"}', headers: { 'content-type': 'application/json; charset="UTF-8"' } });
    expect(utf8.status).toBe(201);
  });

  test('a compressed body is a 415, not a 500, and nothing is decompressed', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const answer = await alice.request('POST', '/v1/accounts', { raw: gzipSync('{"currency":"USD"}'), headers: { 'content-encoding': encoding } });
      expect([encoding, answer.status, answer.body.error.code]).toEqual([encoding, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
  });

  test('a "__proto__" key is a 400 naming it, not silently dropped', async () => {
    for (const raw of ['{"currency":"USD","metadata":{"__proto__":{"x":1},"a":1}}', '{"currency":"USD","metadata":{"a":{"__proto__":1}}}']) {
      const answer = await alice.request('POST', '/v1/accounts', { raw });
      expect([raw, answer.status, answer.body.error.details]).toEqual([raw, 400, [{ path: expect.stringMatching(/__proto__$/), message: 'key "__proto__" is not allowed' }]]);
    }
  });

  test('a key repeated within one object is a 400 naming it, nothing published: JSON.parse keeps the last, a proxy in front may have checked the first', async () => {
    const before = await commandsPublished();
    const to = '00000000-0000-4000-8000-000000000001';
    const repeated = [
      `{"from_account_id":"${account}","to_account_id":"${to}","amount":"1","currency":"USD","amount":"1000"}`,
      `{"from_account_id":"${account}","to_account_id":"${to}","amount":"1","currency":"USD","\\u0061mount":"1000"}`,
    ];
    for (const raw of repeated) {
      const answer = await alice.request('POST', '/v1/transfers', { raw, key: 'repeated-amount' });
      expect([answer.status, answer.body.error.code, answer.body.error.message]).toEqual([
        400,
        'VALIDATION_FAILED',
        'key "amount" appears twice in one object: send each key once (readers disagree on which one counts)',
      ]);
    }
    // In one batch item: the whole batch is refused before its key is claimed.
    const item = (extra: string) => `{"kind":"WITHDRAWAL","account_id":"${account}","amount":"1","currency":"USD"${extra}}`;
    const batch = await alice.request('POST', '/v1/batch', { raw: `{"items":[${item('')},${item(',"currency":"EUR"')}]}`, key: 'batch-repeated' });
    expect([batch.status, batch.body.error.message]).toEqual([400, expect.stringContaining('key "currency" appears twice')]);
    expect(await commandsPublished()).toBe(before);
    // A body that is not JSON is that first; the same key in two objects is two keys.
    const broken = await alice.request('POST', '/v1/accounts', { raw: '{"currency":"USD","currency":"EUR",}' });
    expect([broken.status, broken.body.error.code]).toEqual([400, 'MALFORMED_JSON']);
    const valid = await alice.request('POST', '/v1/batch', { raw: `{"items":[${item('')},${item('')}]}`, key: 'batch-repeated' });
    expect(valid.status).toBe(202);
  });

  test('a signed token whose payload repeats sub is a 401: its issuer may have read the other principal', async () => {
    const signingInput = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      `{"sub":"alice","scope":"ledger:read","exp":${Math.floor(Date.now() / 1000) + 60},"sub":"bob"}`,
    ).toString('base64url')}`;
    const forged = `${signingInput}.${createHmac('sha256', TEST_JWT_SECRET).update(signingInput).digest('base64url')}`;
    const answer = await new Client(api.url, forged).request('GET', `/v1/accounts/${account}`);
    expect([answer.status, answer.body.error.message]).toEqual([401, 'token payload repeats the key "sub"']);
  });

  test('a number beyond the range of a double is a 400 naming it: in a body, and in a batch item, refused whole before its key is claimed', async () => {
    const metadata = await alice.request('POST', '/v1/accounts', { raw: '{"currency":"USD","metadata":{"n":1e400}}' });
    expect([metadata.status, metadata.body.error.details]).toEqual([400, [{ path: 'metadata.n', message: 'is a number beyond the range of a double' }]]);

    // JSON.parse reads 1e400 as Infinity; an invalid item is hashed as sent for the batch's
    // claim, and Infinity has no canonical form: this was a 500.
    const before = await commandsPublished();
    const item = `{"kind":"WITHDRAWAL","account_id":"${account}","amount":"1","currency":"USD"}`;
    for (const odd of ['{"kind":"WITHDRAWAL","amount":"1","note":1e400}', '{"kind":"FOO","x":-1e999}']) {
      const answer = await alice.request('POST', '/v1/batch', { raw: `{"items":[${item},${odd}]}`, key: 'batch-inf' });
      expect([odd, answer.status, answer.body.error.details]).toEqual([odd, 400, [{ path: expect.stringMatching(/^items\.1\./), message: 'is a number beyond the range of a double' }]]);
    }
    expect(await commandsPublished()).toBe(before);
    const valid = await alice.request('POST', '/v1/batch', { raw: `{"items":[${item}]}`, key: 'batch-inf' });
    expect(valid.status).toBe(202);
  });

  test('a number a double cannot keep exactly is a 400 naming it, nothing stored: 2^53 + 1 would read back as 2^53, and two bodies would be one request', async () => {
    const before = await commandsPublished();
    for (const literal of ['9007199254740993', '12345678901234567890123', '1e-400', '0.10000000000000001', '-9007199254740993']) {
      const answer = await alice.request('POST', '/v1/accounts', { raw: `{"currency":"USD","metadata":{"order_id":${literal}}}`, key: `inexact-${literal}` });
      expect([literal, answer.status, answer.body.error.code, answer.body.error.message]).toEqual([
        literal,
        400,
        'VALIDATION_FAILED',
        `number ${literal} cannot be kept exactly (a JSON number is read as a double): send it as text`,
      ]);
    }
    const batch = await alice.request('POST', '/v1/batch', {
      raw: `{"items":[{"kind":"WITHDRAWAL","account_id":"${account}","amount":"1","currency":"USD","note":9007199254740993}]}`,
      key: 'batch-inexact',
    });
    expect([batch.status, batch.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await commandsPublished()).toBe(before);
    // A body that is not JSON is that first, whatever number it holds.
    const broken = await alice.request('POST', '/v1/accounts', { raw: '{"currency":"USD","metadata":{"n":9007199254740993},}' });
    expect([broken.status, broken.body.error.code]).toEqual([400, 'MALFORMED_JSON']);
    // Exact ones are kept as sent: the largest safe integer, 1.0 (the decimal 1), and text.
    const kept = await alice.request('POST', '/v1/accounts', { raw: '{"currency":"USD","metadata":{"a":9007199254740991,"b":1.0,"c":"9007199254740993","d":19.99}}' });
    expect([kept.status, kept.body.metadata]).toEqual([201, { a: 9007199254740991, b: 1, c: '9007199254740993', d: 19.99 }]);
  });

  test("a 404 quotes at most the first 100 characters of the caller's path, with or without a token", async () => {
    const long = `/${'x'.repeat(8000)}`;
    for (const path of [long, `/v1${long}`]) {
      const answer = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${await token('alice')}` } });
      const text = await answer.text();
      expect(answer.status).toBe(404);
      expect(text.length).toBeLessThan(300);
      expect(JSON.parse(text).error.message).toContain(`(${path.length} characters)`);
    }
    const bare = await fetch(`${api.url}${long}`);
    expect([bare.status, (await bare.text()).length < 300]).toEqual([404, true]);
    // And no browser takes any answer for a page: nosniff on every one (the 404 included).
    expect(bare.headers.get('x-content-type-options')).toBe('nosniff');
    const ok = await fetch(`${api.url}/healthz`);
    expect([ok.status, ok.headers.get('x-content-type-options')]).toEqual([200, 'nosniff']);
    // A short path is quoted whole, as before.
    const short = await fetch(`${api.url}/nothing-here`);
    expect(((await short.json()) as { error: { message: string } }).error.message).toBe('no route for GET /nothing-here');
  });

  test('a POST without a body is one whether or not it says Content-Length: 0 (no 415)', async () => {
    const hold = `/v1/holds/${'00000000-0000-4000-8000-00000000f00d'}/void`;
    const headers = { authorization: `Bearer ${await token('alice')}` };
    // An empty Uint8Array: Content-Length: 0 and no Content-Type, as a bodyless fetch POST sends.
    const declared = await fetch(`${api.url}${hold}`, { method: 'POST', headers, body: new Uint8Array(0) });
    expect(declared.status).toBe(404);
    const none = await fetch(`${api.url}${hold}`, { method: 'POST', headers });
    expect(none.status).toBe(404);
    // A body that is not JSON is still refused.
    const text = await fetch(`${api.url}${hold}`, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: 'x' });
    expect(text.status).toBe(415);
  });

  test("what Node's HTTP parser refuses gets the API's error body too: 431 for headers over 16 KiB, 400 for a broken request", async () => {
    const { port, hostname } = new URL(api.url);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(request));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
    const split = (answer: string) => ({ status: answer.split(' ')[1], body: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown });
    const largeAnswer = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(split(largeAnswer)).toEqual({ status: '431', body: { error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } } });
    const brokenAnswer = await raw('GET /healthz HTTP/1.1\r\nHost x\r\n\r\n');
    expect(split(brokenAnswer)).toEqual({ status: '400', body: { error: { code: 'BAD_REQUEST', message: 'the request is not valid HTTP' } } });
    // Every answer carries an X-Request-Id, these too.
    for (const answer of [largeAnswer, brokenAnswer]) expect(answer).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
  });

  test('framing two readers could read differently is a 400 that closes the connection; Expect and CONNECT get the error body too', async () => {
    const { port, hostname } = new URL(api.url);
    const raw = (request: string) =>
      new Promise<{ status: string; body: { error: { code: string; message: string } }; head: string }>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(request));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('end', () => {
          const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
          resolve({ status: answer.split(' ')[1]!, body: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), head });
        });
        socket.on('error', reject);
      });
    const bearer = `Authorization: Bearer ${await token('alice')}\r\n`;
    const body = '{"currency":"USD"}';
    const accountsOfAlice = async () => (await db.pool.query("SELECT count(*)::int AS n FROM accounts WHERE owner = 'alice'")).rows[0].n as number;
    const before = await accountsOfAlice();
    const post = (headers: string, key: string) =>
      raw(`POST /v1/accounts HTTP/1.1\r\n${bearer}Idempotency-Key: ${key}\r\nContent-Length: ${body.length}\r\n${headers}\r\n${body}`);
    const refusals = [
      [await post('Host: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n', 'frame-1'), 'the Content-Type header appears more than once'],
      [await post('Host: x\r\nHost: y\r\nContent-Type: application/json\r\n', 'frame-2'), 'the Host header appears more than once'],
      [await post('Content-Type: application/json\r\n', 'frame-3'), 'an HTTP/1.1 request needs a Host header'],
      [await post('Host: x\r\nContent-Type: application/json\r\nIdempotency-Key: frame-5b\r\n', 'frame-5a'), 'the Idempotency-Key header appears more than once'],
      // Past Node's default of 2,000 headers a request's later lines were read by the parser
      // but left out of req.headers: a second Authorization there went unseen (found by an
      // outside review of hostile input).
      [await post(`Host: x\r\nContent-Type: application/json\r\nConnection: close\r\n${FILLER_HEADERS}Authorization: Bearer ${await token('mallory')}\r\n`, 'frame-6'), 'the Authorization header appears more than once'],
      [
        await raw(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\n${bearer}Idempotency-Key: frame-4\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
        'Transfer-Encoding "gzip, chunked" is not supported: only chunked (send the body uncompressed)',
      ],
    ] as const;
    for (const [answer, message] of refusals) {
      expect([answer.status, answer.body.error]).toEqual(['400', { code: 'BAD_REQUEST', message }]);
      expect(answer.head).toMatch(/\r\nConnection: close\r\n/i);
      expect(answer.head).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
    }
    // None of them opened an account; the same body, framed plainly, does, and so it does
    // with its Content-Type and Content-Length after 2,000 other headers (the API once took
    // that for a POST without a body: 415).
    expect(await accountsOfAlice()).toBe(before);
    const opened = await alice.request('POST', '/v1/accounts', { raw: body, key: 'frame-5' });
    expect(opened.status).toBe(201);
    expect(await accountsOfAlice()).toBe(before + 1);
    const late = await raw(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\n${bearer}Idempotency-Key: frame-7\r\nConnection: close\r\n${FILLER_HEADERS}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect([late.status, (late.body as unknown as { currency: string }).currency]).toEqual(['201', 'USD']);
    expect(await accountsOfAlice()).toBe(before + 2);
    // HTTP/1.0 needs no Host.
    expect((await raw('GET /healthz HTTP/1.0\r\n\r\n')).status).toBe('200');

    // Answered before express, and still counted (and logged) like every other answer.
    const unparsed = ['method="GET",route="unparsed",status="417"', 'method="CONNECT",route="unparsed",status="405"', 'method="unknown",route="unparsed",status="400"'];
    const counts = async () => {
      const text = String((await new Client(api.url, null).get('/metrics')).body);
      return unparsed.map((series) => Number(new RegExp(`^ledger_api_requests_total\\{${series.replace(/[{}]/g, '\\$&')}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0));
    };
    const countedBefore = await counts();
    const expect417 = await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n');
    expect([expect417.status, expect417.body.error.code]).toEqual(['417', 'EXPECTATION_FAILED']);
    expect(expect417.head).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/i);
    const tunnel = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect([tunnel.status, tunnel.body.error.code]).toEqual(['405', 'METHOD_NOT_ALLOWED']);
    const garbled = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect([garbled.status, garbled.body.error.code]).toEqual(['400', 'BAD_REQUEST']);
    expect((await counts()).map((n, i) => n - countedBefore[i]!)).toEqual([1, 1, 1]);
  });

  // The test's own timeout is the deadline: Node's 30 s check would answer after it.
  test('a request whose headers stop arriving gets its 408 near API_HTTP_HEADERS_TIMEOUT_MS, not at Node\'s 30 s check', async () => {
    const quick = await startApi(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` },
      { API_HTTP_HEADERS_TIMEOUT_MS: '2000', API_HTTP_REQUEST_TIMEOUT_MS: '3000', API_HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' },
    );
    try {
      const { port, hostname } = new URL(quick.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')); // and nothing more
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    } finally {
      await quick.stop();
    }
  }, 20_000);

  test('a metadata key is bounded in characters (code points), as the document declares', async () => {
    const emoji = '\u{1F600}';
    const fits = await alice.post('/v1/accounts', { currency: 'USD', metadata: { [emoji.repeat(64)]: 1 } });
    expect(fits.status).toBe(201);
    expect(Object.keys(fits.body.metadata)).toEqual([emoji.repeat(64)]);
    const over = await alice.post('/v1/accounts', { currency: 'USD', metadata: { [emoji.repeat(65)]: 1 } });
    expect(over.status).toBe(400);
  });
});
