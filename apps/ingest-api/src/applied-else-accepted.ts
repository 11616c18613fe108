/**
 * Where a transfer or hold is read from: its row in Postgres once applied, else the ACCEPTED
 * record the API left in Redis when Kafka acknowledged it, else the row again.
 *
 * Why the row twice: the worker replaces a record with its applied mark right after the
 * commit that wrote its row (the record has done its work; Redis would otherwise keep one per
 * command for a day; packages/redis accepted.ts). A read that looked at Postgres just before
 * that commit and at Redis just after the mark finds neither, although the resource exists.
 * Its second look at Postgres finds the row, because the mark follows the commit. Without it, such a read would answer 503 ("not
 * applied yet") or 404, or a replay would publish its command again (deduped, but needless).
 */

/** One id: the applied resource, else the accepted one, else the applied one as it is now. */
export async function appliedElseAccepted<Found>(applied: () => Promise<Found | null>, accepted: () => Promise<Found | null>): Promise<Found | null> {
  return (await applied()) ?? (await accepted()) ?? (await applied());
}

/**
 * Many ids at once (a batch's replay): each id's applied resource, else its accepted one, else
 * its applied one read again; absent ids show nothing. Each source is read once per pass, for
 * the ids still missing.
 */
export async function appliedElseAcceptedMany<Found>(
  ids: readonly string[],
  applied: (ids: readonly string[]) => Promise<ReadonlyMap<string, Found>>,
  accepted: (ids: readonly string[]) => Promise<ReadonlyMap<string, Found>>,
): Promise<Map<string, Found>> {
  const found = new Map<string, Found>();
  for (const read of [applied, accepted, applied]) {
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length === 0) break;
    for (const [id, resource] of await read(missing)) if (!found.has(id)) found.set(id, resource);
  }
  return found;
}
