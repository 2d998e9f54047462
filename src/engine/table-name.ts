/**
 * Table-name rules (spec §5.4, a fix over the reference): names end up in file names of backups and in
 * registry paths, so Create refuses names that would break either.
 */

/** The longest table name in bytes. */
export const TABLE_NAME_BYTES_MAX = 255;

const FORBIDDEN_CHARACTERS = new Set(["/", "\\", "*", "?", "[", "]"]);

/** Returns why `name` is not a valid table name, or null when it is. The empty name is checked by callers. */
export function tableNameProblem(name: string): string | null {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length > TABLE_NAME_BYTES_MAX) return `longer than ${TABLE_NAME_BYTES_MAX} bytes`;
  if (bytes.toString("utf8") !== name || name.includes("\uFFFD")) return "not valid UTF-8";
  if (name === "." || name === "..") return `"${name}" is reserved`;
  for (const character of name) {
    const code = character.codePointAt(0)!;
    if (code <= 0x1f || code === 0x7f) return `control character U+${code.toString(16).padStart(4, "0").toUpperCase()}`;
    if (FORBIDDEN_CHARACTERS.has(character)) return `invalid character '${character}'`;
  }
  return null;
}
