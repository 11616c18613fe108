/** Reading back what Redis holds: it may hold anything, written by anyone who can reach it (docs/security.md). */

/**
 * A value read from Redis, quoted for a log line or an error: JSON-escaped (one line, no
 * control characters) and at most `charsMax` characters of it, with its length when cut.
 */
export function shown(value: string, charsMax = 32): string {
  return value.length > charsMax ? `${JSON.stringify(value.slice(0, charsMax))}... (${value.length} characters)` : JSON.stringify(value);
}

/** Redis's answer to a command on a key that holds another type (a string where a hash was expected). */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}
