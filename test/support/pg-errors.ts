/**
 * The errors node-pg rejects a query with, built as its protocol parser builds them, so that
 * classifying code meets what it meets in production rather than a look-alike.
 */
import { DatabaseError } from 'pg';

/**
 * The server's ErrorResponse (Postgres's, or PgBouncer's in its stead) as node-pg rejects with
 * it: pg-protocol's DatabaseError, its `severity` and SQLSTATE `code` set from the S and C
 * fields (parser.ts, parseErrorMessage).
 */
export function serverError(code: string, message: string, severity: 'ERROR' | 'FATAL' = 'ERROR'): DatabaseError {
  const error = new DatabaseError(message, -1, 'error'); // -1: the parser's length before it is known
  error.severity = severity;
  error.code = code;
  return error;
}
