/**
 * The build version: the package version, read once from package.json ("UNKNOWN" if unavailable).
 */
import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "UNKNOWN";
  } catch {
    return "UNKNOWN";
  }
}

export const VERSION = readVersion();
