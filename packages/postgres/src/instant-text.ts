/**
 * SQL rendering a timestamptz expression as RFC 3339 text in UTC with its microseconds
 * (`2026-12-06T01:11:37.684123Z`), whatever the session's DateStyle or TimeZone (a role's
 * settings apply through PgBouncer too): a JS Date, what pg parses a timestamptz into, keeps
 * milliseconds only.
 */
export const utcInstantText = (expression: string): string => `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
