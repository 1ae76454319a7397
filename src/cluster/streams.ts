/** Reading the replies of XREAD and XREADGROUP (RESP2, bulk strings as Buffers). */

export interface StreamEntry {
  id: string;
  fields: Map<string, Buffer>;
}

/** The entries of a reply to XREAD/XREADGROUP on one stream; none for a null reply (the block timed out). */
export function streamEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [unknown, unknown];
  if (!Array.isArray(entries)) return [];
  const out: StreamEntry[] = [];
  for (const entry of entries as [Buffer | string, (Buffer | string)[] | null][]) {
    const [id, flat] = entry;
    // An entry deleted while it was pending comes back with no fields (XREADGROUP of the PEL).
    if (!flat) continue;
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const value = flat[i + 1]!;
      fields.set(String(flat[i]), Buffer.isBuffer(value) ? value : Buffer.from(value));
    }
    out.push({ id: String(id), fields });
  }
  return out;
}

/** A field as text ("" when absent). */
export function text(entry: StreamEntry, field: string): string {
  return entry.fields.get(field)?.toString("utf8") ?? "";
}

/** Flattens field/value pairs for XADD. */
export function fieldList(fields: Record<string, string | Buffer>): (string | Buffer)[] {
  const flat: (string | Buffer)[] = [];
  for (const [key, value] of Object.entries(fields)) flat.push(key, value);
  return flat;
}
