/**
 * `manifest.json` of a backup directory (spec §11.5): written compactly on one line; read leniently
 * (`tables` may be null, missing or [], unknown fields are ignored) but checked field by field.
 */

export const MANIFEST_FILE = "manifest.json";

export interface ManifestTable {
  readonly name: string;
  readonly file_name: string;
  readonly md5: string;
  /** [EXT] Bytes of the file; Regatta ignores it. */
  readonly size?: number;
  /** [EXT] Applied index of the table's point-in-time view (when the server reported it). */
  readonly index?: number;
}

export interface Manifest {
  /** [EXT] The backed-up cluster's name (Cluster/MemberList). */
  readonly cluster?: string;
  readonly started: string;
  readonly finished: string;
  readonly tables: readonly ManifestTable[] | null;
}

/** The manifest's bytes: compact JSON and a newline, `tables: null` when there are none (as the reference). */
export function encodeManifest(manifest: Manifest): string {
  const tables = manifest.tables && manifest.tables.length > 0 ? manifest.tables : null;
  const cluster = manifest.cluster === undefined ? {} : { cluster: manifest.cluster };
  return `${JSON.stringify({ ...cluster, started: manifest.started, finished: manifest.finished, tables })}\n`;
}

/** Parses a manifest; throws `invalid manifest: <what>` when its shape is wrong. */
export function parseManifest(text: string): { tables: ManifestTable[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid manifest: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("invalid manifest: not a JSON object");
  const tables = (parsed as { tables?: unknown }).tables;
  if (tables === undefined || tables === null) return { tables: [] };
  if (!Array.isArray(tables)) throw new Error("invalid manifest: tables is not an array");
  return { tables: tables.map((table, i) => manifestTable(table, i)) };
}

function manifestTable(value: unknown, position: number): ManifestTable {
  const table = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  for (const field of ["name", "file_name", "md5"]) {
    if (typeof table[field] !== "string" || table[field] === "") {
      throw new Error(`invalid manifest: table ${position} has no ${field} string`);
    }
  }
  return { name: table.name as string, file_name: table.file_name as string, md5: table.md5 as string };
}
