/**
 * `ledgerctl dead-letters`: the commands a partition could not apply, as Postgres keeps them
 * (an outbox row of the dead-letter topic until Kafka has it, then a dead_letters row under
 * the same id: both are listed, shown, redriven and acknowledged alike), and `dead-letters
 * redrive`, which sends one of them again once its cause is gone and records that it did
 * (dead_letter_redrives), and `dead-letters ack`, an operator's word that one is handled
 * (dead_letter_acknowledgements). Listing and showing read as the API role; a redrive and an
 * acknowledgement run as the owner, which writes their records.
 */
import { once } from 'node:events';
import { hostname, userInfo } from 'node:os';
import { DEAD_LETTER_NOTE_CHARS_MAX, OPERATOR_CHARS_MAX } from '@ledgerline/domain';
import { commandSchemaProblem } from '@ledgerline/schemas';
import { acknowledgeDeadLetter, findDeadLetter, inTransaction, listRedrives, loadRouting, readDeadLetters, recordRedrive } from '@ledgerline/postgres';
import { type CtlConfig, ctlPool } from '../config';
import { printTable, printable } from '../table';
import { withDeps } from './operate';

const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const REASON_SHOWN_MAX = 100;

export async function showDeadLetters(config: CtlConfig, options: { limit: number; partition?: number; open: boolean; json: boolean }): Promise<void> {
  if (options.partition !== undefined) {
    // A partition the topic does not have would list nothing, as if it had no dead letters.
    // Checked against Kafka when it answers; dead letters are read from Postgres, so a Kafka
    // outage (when they matter most) only skips the check, with a word on stderr.
    const asked = options.partition;
    const partitions = await withDeps(config, 'read', ({ admin, topics }) => admin.partitionCount(topics.commands).then((n) => ({ n, topic: topics.commands }))).catch((error: Error) => {
      process.stderr.write(`ledgerctl dead-letters: --partition not checked against the topic (${error.message})\n`);
      return null;
    });
    if (partitions !== null && asked >= partitions.n) {
      throw new Error(`--partition must be in 0..${partitions.n - 1} (${partitions.topic} has ${partitions.n} partitions), got ${asked}`);
    }
  }
  const pool = ctlPool(config, 'read', 1);
  try {
    // Read a page of letters at a time (readDeadLetters): a line of --json is written, and a
    // row of the table reduced to its cells, before the next page is read.
    const letters = readDeadLetters(pool, options);
    if (options.json) {
      // The whole message, bytes included (docs/events.md), one JSON line each: for tools.
      for await (const row of letters) {
        const ack = row.acknowledgement;
        const redriven = {
          redrives: row.redrives,
          last_redriven_at: row.lastRedrivenAt?.toISOString() ?? null,
          acknowledged: ack === null ? null : { at: ack.acknowledgedAt.toISOString(), by: ack.acknowledgedBy, note: ack.note },
        };
        await written(`${JSON.stringify({ id: String(row.id), source_partition: row.sourcePartition, published: row.publishedAt !== null, ...redriven, ...row.letter })}\n`);
      }
      return;
    }
    const cells: string[][] = [];
    for await (const row of letters) {
      const reason = String(row.letter.reason ?? '');
      const command = commandOf(row.letter.value_base64, row.letter.value_bytes);
      cells.push([
        String(row.id),
        String(row.letter.partition ?? row.sourcePartition),
        String(row.letter.offset ?? ''),
        command.type,
        command.id,
        row.againOf === null ? '-' : String(row.againOf),
        String(row.letter.dead_lettered_at ?? row.createdAt.toISOString()),
        row.publishedAt ? 'yes' : 'not yet',
        row.lastRedrivenAt === null ? '-' : `${row.redrives}x, last ${row.lastRedrivenAt.toISOString()}`,
        row.acknowledgement === null ? '-' : row.acknowledgement.acknowledgedAt.toISOString(),
        reason.length > REASON_SHOWN_MAX ? `${reason.slice(0, REASON_SHOWN_MAX)}...` : reason,
      ]);
    }
    if (cells.length === 0) {
      process.stdout.write(options.open ? 'no open dead letters (each is acknowledged or redriven)\n' : 'no dead letters\n');
      return;
    }
    // A command redriven and dead-lettered again is a new letter with the same bytes: each
    // later letter names the first one with its key and value ('again of'), listed or not
    // (--open leaves out the redriven original, and --limit the older ones).
    printTable(['id', 'partition', 'offset', 'command', 'command id', 'again of', 'dead-lettered at', 'on topic', 'redriven', 'acknowledged', 'reason'], cells);
  } finally {
    await pool.end();
  }
}

/**
 * One dead letter whole, for an operator: where it was read, why it was refused, and its
 * command decoded (pretty JSON) when the letter keeps it whole, else its bytes' size and hash.
 * Its key, value and reason are bytes someone wrote to a topic: every line is printed through
 * `printable`, as the listing's cells are, so an escape sequence in them never reaches the
 * operator's terminal (where it would clear the screen, retitle the window or forge lines).
 */
export async function showDeadLetter(config: CtlConfig, id: bigint): Promise<void> {
  const pool = ctlPool(config, 'read', 1);
  try {
    const row = await findDeadLetter(pool, id);
    if (row === null) throw new Error(`no dead letter ${id} (ledgerctl dead-letters lists them)`);
    const { letter } = row;
    const command = commandOf(letter.value_base64, letter.value_bytes);
    const redrives = await listRedrives(pool, id);
    const ack = row.acknowledgement;
    // A field's value is one line, or several (the redrives) aligned under the first.
    const fields: [string, string | string[]][] = [
      ['id', String(row.id)],
      ['read from', `${String(letter.topic ?? '?')} partition ${String(letter.partition ?? row.sourcePartition)} offset ${String(letter.offset ?? '?')}`],
      ['dead-lettered at', String(letter.dead_lettered_at ?? row.createdAt.toISOString())],
      ['on the dead-letter topic', row.publishedAt ? `yes, ${row.publishedAt.toISOString()}` : 'not yet'],
      ['reason', String(letter.reason ?? '')],
      ['sqlstate', typeof letter.sqlstate === 'string' ? letter.sqlstate : '-'],
      ['again of', row.againOf === null ? '-' : `${row.againOf} (the same bytes, dead-lettered before)`],
      ['command', `${command.type} ${command.id}`],
      ['key', typeof letter.key_base64 === 'string' ? Buffer.from(letter.key_base64, 'base64').toString('utf8') : '-'],
      ['acknowledged', ack === null ? 'no' : `${ack.acknowledgedAt.toISOString()} by ${ack.acknowledgedBy}: ${ack.note}`],
      ['redriven', redrives.length === 0 ? 'never' : redrives.map((r) => `${r.redrivenAt.toISOString()} to partition ${r.toPartition} by ${r.redrivenBy}`)],
    ];
    if (letter.value_bytes !== undefined) fields.push(['value', `${String(letter.value_bytes)} bytes (the letter keeps the first ones), sha256 ${String(letter.value_sha256 ?? '?')}`]);
    const lines = fields.flatMap(([name, value]) => fieldLines(name, value));
    if (letter.value_bytes === undefined && typeof letter.value_base64 === 'string') lines.push('value:', ...valueLines(Buffer.from(letter.value_base64, 'base64').toString('utf8')));
    process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  } finally {
    await pool.end();
  }
}

/** Writes `text` to stdout, waiting when its buffer is full (a slow reader of a pipe), so lines never pile up in memory. */
async function written(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** Where a field's value starts on `dead-letters show`'s lines. */
const FIELD_VALUE_COLUMN = 26;

/** `name: value`, each line of the value escaped (printable), later lines aligned under the first. */
function fieldLines(name: string, value: string | string[]): string[] {
  const [first = '', ...rest] = typeof value === 'string' ? [value] : value;
  return [`${`${name}:`.padEnd(FIELD_VALUE_COLUMN)}${printable(first)}`, ...rest.map((line) => `${' '.repeat(FIELD_VALUE_COLUMN)}${printable(line)}`)];
}

/**
 * A letter's whole value: a JSON command pretty-printed, one line per member (JSON.stringify
 * escapes C0 controls in strings, not DEL or the C1 ones, so each line is escaped too: the
 * JSON read from it is the same), anything else (a malformed message) as one escaped line.
 */
function valueLines(value: string): string[] {
  let pretty: string;
  try {
    pretty = JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return [printable(value)];
  }
  return pretty.split('\n').map(printable);
}

/**
 * What may be sent again: commands that end in no status of their own when isolated, and
 * that their own checks keep from doing harm a second time or late. A leg is deduped on
 * (transfer, leg) and checked against its transfer's row; a void or an expiry acts only on a
 * hold still HELD. An account change is not among them: it carries no version, so sent after
 * a later change it would undo that one (an unfreeze over a freeze), and the admin's seal on
 * it does not expire. A client's command was recorded REJECTED UNPROCESSABLE: its client
 * sends a new request. Besides these, any command but an account change that a worker older
 * than this build refused for its schema, or that a worker refused for a seal it could not
 * verify (redriveDeadLetter): it was never recorded at all.
 */
const REDRIVABLE: ReadonlySet<string> = new Set(['CREDIT_LEG', 'REFUND_LEG', 'VOID_HOLD', 'EXPIRE_HOLD']);

/**
 * Publishes dead letter `id`'s command again, with its own key and bytes, to the partition the
 * routing gives its account now, for a command isolated as UNPROCESSABLE whose cause is since
 * mended (a bug fixed by a deploy, a trigger dropped): a saga leg, whose transfer stays
 * PROCESSING until then, or a void or an expiry. A command applied since is a copy and changes
 * nothing; one whose cause is still there is dead-lettered again, as a new letter.
 */
export async function redriveDeadLetter(config: CtlConfig, id: bigint): Promise<void> {
  await withDeps(config, 'owner', async ({ pool, producer, topics }) => {
    const row = await findDeadLetter(pool, id);
    if (row === null) throw new Error(`no dead letter ${id} (ledgerctl dead-letters lists them)`);
    const { reason, topic, partition, offset, key_base64: keyBase64, value_base64: valueBase64, value_bytes: valueBytes } = row.letter;
    // A refusal quotes the letter (its reason can quote the bytes, its key is them): escaped
    // for the terminal (printable), as `show` prints them.
    if (topic !== topics.commands) throw new Error(`dead letter ${id} was read from ${printable(String(topic))}, not ${topics.commands}: only commands are sent again`);
    // A schema refusal by a worker older than this build (a member added since: a deposit's
    // description), or a decode that threw in an older build (a bug since fixed: `undecodable:`),
    // reads now: that command was never applied nor recorded (its client reads it ACCEPTED),
    // and a current worker applies it. One this build refuses too stays refused.
    const olderSchema =
      typeof reason === 'string' && (reason.startsWith('schema:') || reason.startsWith('undecodable:')) && typeof valueBase64 === 'string' && valueBytes === undefined &&
      commandSchemaProblem(Buffer.from(valueBase64, 'base64').toString('utf8')) === null;
    // A seal no key of the reading worker verified: a deposit forwarded after a bucket move
    // by a worker that already sealed with a new key, read by one that did not have it yet (a
    // rotation done out of order, docs/security.md). Never recorded, its client reads it
    // ACCEPTED: once every worker has the key, the same bytes apply. A real forgery is
    // refused again by the workers, whose keys, not ledgerctl, judge a seal.
    const forged = typeof reason === 'string' && reason.startsWith('forged:');
    if (typeof reason !== 'string' || !(reason.startsWith('UNPROCESSABLE') || olderSchema || forged)) {
      throw new Error(`dead letter ${id} was refused before it was applied (${printable(String(reason).slice(0, 80))}): sent again it would be refused the same way`);
    }
    if (valueBytes !== undefined) throw new Error(`dead letter ${id} keeps only the first bytes of a ${String(valueBytes)}-byte message: the whole command is not there to send again`);
    if (typeof keyBase64 !== 'string' || typeof valueBase64 !== 'string') throw new Error(`dead letter ${id} has no key or no value: nothing to send again`);
    const key = Buffer.from(keyBase64, 'base64').toString('utf8');
    if (!ACCOUNT_ID.test(key)) throw new Error(`dead letter ${id} is keyed ${printable(JSON.stringify(key.slice(0, 64)))}, not by an account id: the pipeline never wrote it`);
    const value = Buffer.from(valueBase64, 'base64').toString('utf8');
    const type = commandTypeOf(value);
    // The type comes from the letter's bytes (a forged one's is anything): escaped, and cut, wherever it is printed.
    const shownType = printable(type.slice(0, 32));
    // A client's command refused by an older worker's schema has no status of its own: sending
    // it again is the only way it ends (a copy of one applied since is read as a DUPLICATE).
    if (!REDRIVABLE.has(type) && !((olderSchema || forged) && type !== 'UPDATE_ACCOUNT')) {
      throw new Error(
        type === 'UPDATE_ACCOUNT'
          ? `dead letter ${id} is an account change: sent now it could undo a later one; make the change again (PATCH /v1/accounts/{id})`
          : `dead letter ${id} is a ${shownType}, recorded REJECTED UNPROCESSABLE when it was isolated: its client sends a new request`,
      );
    }
    const to = (await loadRouting(pool)).partitionOf(key);
    // The record commits once the command is on Kafka: a publish that fails leaves no record.
    // A commit that fails after the publish leaves a redrive without its record: said, not hidden.
    let stage: 'recording' | 'sending' | 'sent' = 'recording';
    try {
      await inTransaction(pool, async (client) => {
        await recordRedrive(client, id, to, operatorName());
        stage = 'sending';
        await producer.publishTogether([{ topic: topics.commands, partition: to, key, value }]);
        stage = 'sent';
      });
    } catch (error) {
      const why = (error as Error).message;
      if (stage === 'recording') throw error;
      // A send that failed or timed out may still have reached Kafka: say so, never "not sent".
      // Redriving again is safe either way (a copy of an applied command changes nothing).
      if (stage === 'sending') throw new Error(`dead letter ${id}: the send did not confirm (${why}); the command may or may not be on Kafka, and no record was written. Redriving again is safe`);
      process.stderr.write(`ledgerctl dead-letters redrive: dead letter ${id} was sent again, but its record was not written (${why}); the listing will not show this redrive\n`);
    }
    process.stdout.write(
      `dead letter ${id} (${shownType}, partition ${String(partition)}, offset ${String(offset)}) sent again to partition ${to} of ${topics.commands}: ` +
        'applied if its cause is gone (a copy of an applied command changes nothing), dead-lettered again if not\n',
    );
  });
}

/**
 * Records that dead letter `id` is handled, and why (`note`): the letter leaves
 * `dead-letters --open`. Written once; a second acknowledgement is refused, naming the first.
 */
export async function acknowledgeLetter(config: CtlConfig, id: bigint, note: string): Promise<void> {
  const problem = noteProblem(note);
  if (problem) throw new Error(`--note ${problem}`);
  const pool = ctlPool(config, 'owner', 1);
  try {
    const row = await findDeadLetter(pool, id);
    if (row === null) throw new Error(`no dead letter ${id} (ledgerctl dead-letters lists them)`);
    if (!(await acknowledgeDeadLetter(pool, id, operatorName(), note.trim()))) {
      const first = (await findDeadLetter(pool, id))?.acknowledgement;
      throw new Error(`dead letter ${id} is already acknowledged${first ? ` (${first.acknowledgedAt.toISOString()} by ${first.acknowledgedBy}: ${first.note})` : ''}`);
    }
    process.stdout.write(
      row.redrives > 0 ? `dead letter ${id} acknowledged (it had left dead-letters --open already, when it was redriven)\n` : `dead letter ${id} acknowledged: it no longer shows in dead-letters --open\n`,
    );
  } finally {
    await pool.end();
  }
}

/** Why a note is refused, or null: it is read by people, in a terminal. */
function noteProblem(note: string): string | null {
  const text = note.trim();
  if (text.length === 0) return 'must say why the letter is handled';
  if ([...text].length > DEAD_LETTER_NOTE_CHARS_MAX) return `must be at most ${DEAD_LETTER_NOTE_CHARS_MAX} characters`;
  if (!text.isWellFormed() || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(text)) return 'must be one line of text, without control or invisible format characters';
  return null;
}

/** The `type` member of a command message (sealed or not, it is a JSON object), or '(unknown)'. */
function commandTypeOf(value: string): string {
  try {
    const type = (JSON.parse(value) as { type?: unknown }).type;
    return typeof type === 'string' ? type : '(unknown)';
  } catch {
    return '(unknown)';
  }
}

/** The members of a command that name what it acts on: a transfer's, a hold's, an account change's id. */
const COMMAND_ID_MEMBERS = ['transfer_id', 'hold_id', 'change_id', 'account_id'] as const;

/**
 * A dead letter's command as the table shows it: its type and the id an operator searches for
 * (GET /v1/transfers/{id}, the log), or '-' where the letter keeps no whole JSON command (a
 * malformed message, or one cut to its first bytes).
 */
function commandOf(valueBase64: unknown, valueBytes: unknown): { type: string; id: string } {
  if (typeof valueBase64 !== 'string' || valueBytes !== undefined) return { type: '-', id: '-' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(valueBase64, 'base64').toString('utf8'));
  } catch {
    return { type: '-', id: '-' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { type: '-', id: '-' };
  const command = parsed as Record<string, unknown>;
  const type = typeof command.type === 'string' ? command.type.slice(0, 32) : '-';
  const member = COMMAND_ID_MEMBERS.find((name) => typeof command[name] === 'string');
  return { type, id: member ? String(command[member]).slice(0, 64) : '-' };
}

/** Who redrove or acknowledged a letter, for its record: the operating-system user and host running ledgerctl. */
function operatorName(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${process.getuid?.() ?? '?'}`; // no passwd entry (a container's arbitrary uid)
  }
  return `${user}@${hostname()}`.replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, OPERATOR_CHARS_MAX).toWellFormed();
}
