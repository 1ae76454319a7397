/** Reading the replies of XREAD and XREADGROUP (RESP2, bulk strings as Buffers). */

export interface StreamEntry {
  id: string;
  fields: Map<string, Buffer>;
}

/** An entry as the reply holds it: its id and its field/value pairs flat (null for an entry deleted while pending). */
export type RawEntry = [id: Buffer | string, flat: (Buffer | string)[] | null];

/** The entries of a reply to XREAD/XREADGROUP on one stream, as they come; none for a null reply (the block timed out). */
export function rawEntries(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [unknown, unknown];
  return Array.isArray(entries) ? (entries as RawEntry[]) : [];
}

/**
 * The entries of a reply to XREAD/XREADGROUP on one stream; none for a null reply (the block timed out).
 * An entry deleted while it was pending comes back with no fields (XREADGROUP of the PEL): it is
 * left out, its id put in `deleted` when given.
 */
export function streamEntries(reply: unknown, deleted?: string[]): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [id, flat] of rawEntries(reply)) {
    if (!flat) {
      deleted?.push(String(id));
      continue;
    }
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const value = flat[i + 1]!;
      fields.set(String(flat[i]), Buffer.isBuffer(value) ? value : Buffer.from(value));
    }
    out.push({ id: String(id), fields });
  }
  return out;
}

/** One result of a result entry (scripts.ts, COMPLETE and REAP). */
export interface ResultRecord {
  job: string;
  chunk: string;
  outcome: string;
  payload: Buffer | undefined;
  ranMs: string;
  who: string;
}

const J = 0x6a;
const K = 0x6b;
const O = 0x6f;
const P = 0x70;
const D = 0x64;
const W = 0x77;

/** The results of a result entry: each a run of fields that starts with "j" (one-letter names, told apart by their byte). */
export function resultRecords(flat: readonly (Buffer | string)[]): ResultRecord[] {
  const out: ResultRecord[] = [];
  let record: ResultRecord | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!;
    const code = typeof name === "string" ? name.charCodeAt(0) : name[0];
    const value = flat[i + 1]!;
    if (code === J) {
      record = { job: String(value), chunk: "", outcome: "", payload: undefined, ranMs: "", who: "" };
      out.push(record);
    } else if (record === undefined) {
      continue;
    } else if (code === K) record.chunk = String(value);
    else if (code === O) record.outcome = String(value);
    else if (code === P) record.payload = Buffer.isBuffer(value) ? value : Buffer.from(value);
    else if (code === D) record.ranMs = String(value);
    else if (code === W) record.who = String(value);
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
