/**
 * Operator authority on the `commands` topic, proven rather than claimed.
 *
 * A worker derives every privilege from the command's kind and the owner of the account it
 * names (docs/security.md "Commands on Kafka"). The one privilege neither can give is an
 * operator's (`ledger:admin`): a deposit, a freeze, a credit limit, or acting on someone
 * else's account. A flag in the message would let anyone who can write to the topic claim
 * it, so the ingest API, which checked the operator's token, *seals* such a command instead:
 * an HMAC-SHA256 of the exact message text under `LEDGERLINE_COMMAND_KEY`, a key the API and
 * the workers hold and Kafka never sees. The seal is the message's last member,
 * `,"operator_seal":"<base64url>"}`, so the worker verifies the very bytes it is about to
 * parse, with no canonical form to agree on.
 *
 * Rotation: the API seals with the current key; workers also accept the previous ones
 * (`LEDGERLINE_COMMAND_KEY_PREVIOUS`) until every message sealed with them is applied.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const SEAL_MEMBER = ',"operator_seal":"';
const SEAL_PROPERTY = 'operator_seal';
const SEAL_NAME = `"${SEAL_PROPERTY}"`;
/** base64url of a 32-byte HMAC-SHA256, unpadded. */
const SEAL_CHARS = 43;

export type OpenedMessage = { text: string; sealed: boolean } | { forged: string };

export class CommandSeal {
  private readonly keys: readonly Buffer[];

  /** `current` seals and verifies; `previous` keys only verify (rotation). */
  constructor(current: string, previous: readonly string[] = []) {
    if (current.length === 0) throw new Error('CommandSeal: the key must not be empty');
    this.keys = [current, ...previous.filter((key) => key.length > 0)].map((key) => Buffer.from(key, 'utf8'));
  }

  /** Appends the seal to the JSON text of one message object. */
  seal(json: string): string {
    if (!json.endsWith('}')) throw new Error('CommandSeal: only a JSON object can be sealed');
    return `${json.slice(0, -1)}${SEAL_MEMBER}${mac(this.keys[0]!, json)}"}`;
  }

  /**
   * A sealed message whose text a store re-rendered (Postgres's jsonb orders the members its
   * own way and adds spaces), sealed again over its new text: the old seal covered bytes that
   * are gone, and would read as forged. Only for messages this ledger wrote itself and
   * verified before storing them (a worker's outbox); one without a seal is returned as it is.
   */
  sealAgain(json: string): string {
    const message = JSON.parse(json) as Record<string, unknown>;
    if (!Object.hasOwn(message, SEAL_PROPERTY)) return json;
    const { [SEAL_PROPERTY]: _seal, ...unsealed } = message;
    return this.seal(JSON.stringify(unsealed));
  }

  /**
   * Splits a message into the text that was sealed and whether a seal verified. A message
   * that carries `operator_seal` anywhere but as a verifying last member is forged.
   */
  open(text: string): OpenedMessage {
    const at = text.length - 2 - SEAL_CHARS - SEAL_MEMBER.length;
    const hasSuffix = at > 0 && text.endsWith('"}') && text.startsWith(SEAL_MEMBER, at);
    if (!hasSuffix) {
      return text.includes(SEAL_NAME) ? { forged: 'operator_seal must be the last member of the message' } : { text, sealed: false };
    }
    const sealed = `${text.slice(0, at)}}`;
    if (sealed.includes(SEAL_NAME)) return { forged: 'operator_seal appears more than once' };
    const given = Buffer.from(text.slice(at + SEAL_MEMBER.length, -2), 'utf8');
    for (const key of this.keys) {
      const expected = Buffer.from(mac(key, sealed), 'utf8');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return { text: sealed, sealed: true };
    }
    return { forged: 'operator_seal does not verify under any configured LEDGERLINE_COMMAND_KEY' };
  }
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
}
