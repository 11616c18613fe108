/**
 * What JSON.parse decides silently about a JSON text, found on the text itself. Used where a
 * text crosses a border and another reader may have read the same bytes: a request body (a
 * gateway or a WAF in front of the API) and a token's payload (its issuer).
 */

/** How much of a repeated key an error message quotes. */
const KEY_SHOWN_MAX = 40;

/** An open object on duplicateKey's stack: its first key, then every key from the second on. */
interface OpenObject {
  first: string | null;
  keys: Set<string> | null;
}

/**
 * The first key a JSON text repeats within one object, or null. JSON.parse keeps the last of
 * two same-named keys; another reader may keep the first (or refuse the text), so the same
 * bytes would be two documents: `{"amount":"1","amount":"1000"}` checked by one reader and
 * moved by another, or a token whose `sub` its issuer read one way and this API another.
 *
 * Meant for a text JSON.parse has accepted (run it after the parse: on anything else its
 * answer means nothing, though it never throws). Keys are compared decoded (`"a"` and
 * `"\u0061"` are one key). Linear, without recursion; an object's key set is built only at
 * its second key, so a text of many one-key objects costs no sets. Objects nested deeper
 * than `depthMax` are not looked into (callers refuse such depth anyway).
 */
export function duplicateKey(text: string, depthMax?: number): string | null {
  // One entry per open object, or null per open array (and per object past depthMax),
  // innermost last.
  const open: (OpenObject | null)[] = [];
  let expectingKey = false;
  // The first backslash at or after the string being read (-1: none left): found once per
  // backslash, not once per string, so unescaped keys are sliced, never decoded.
  let nextBackslash = text.indexOf('\\');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i = closingQuote(text, i + 1);
      if (!expectingKey) continue;
      expectingKey = false;
      const object = open[open.length - 1];
      if (!object) continue; // an array, or an object past depthMax
      if (nextBackslash !== -1 && nextBackslash < start) nextBackslash = text.indexOf('\\', start);
      const key = nextBackslash !== -1 && nextBackslash < i ? decodedString(text.slice(start, i + 1)) : text.slice(start + 1, i);
      if (object.first === null) object.first = key;
      else if (object.keys === null) {
        if (object.first === key) return key;
        object.keys = new Set([object.first, key]);
      } else {
        if (object.keys.has(key)) return key;
        object.keys.add(key);
      }
    } else if (c === 0x7b /* { */) {
      open.push(depthMax === undefined || open.length < depthMax ? { first: null, keys: null } : null);
      expectingKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
      expectingKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectingKey = false;
    } else if (c === 0x2c /* , */) {
      expectingKey = open.length > 0 && open[open.length - 1] !== null;
    }
  }
  return null;
}

/** A repeated key as an error message may show it: well-formed and short. */
export function shownKey(key: string): string {
  const wellFormed = key.toWellFormed();
  return JSON.stringify(wellFormed.length > KEY_SHOWN_MAX ? `${wellFormed.slice(0, KEY_SHOWN_MAX)}...` : wellFormed);
}

/**
 * Where the string starting at `from` ends: the next quote not escaped by an odd run of
 * backslashes (indexOf finds it at the runtime's speed; text.length when there is none).
 */
function closingQuote(text: string, from: number): number {
  for (let at = text.indexOf('"', from); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (at - 1 - backslashes >= from && text.charCodeAt(at - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
}

function decodedString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal; // not JSON: its parser refuses the whole text
  }
}
