/**
 * The external programs of the benchmark: etcd (Debian's `etcd-server`, etcd 3.4) and h2load (Debian's
 * `nghttp2-client`). Installed with apt-get when missing (the benchmark runs as root on Debian).
 */
import { spawnSync } from "node:child_process";

const PACKAGES: Readonly<Record<string, string>> = { etcd: "etcd-server", h2load: "nghttp2-client" };

/** The absolute path of `command` on PATH, or null. */
export function which(command: string): string | null {
  const result = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  const path = result.stdout.trim();
  return result.status === 0 && path ? path : null;
}

/** Makes sure etcd and h2load are installed; installs the missing ones with apt-get. */
export function ensureTools(log: (line: string) => void): { etcd: string; h2load: string } {
  const missing = Object.keys(PACKAGES).filter((command) => !which(command));
  if (missing.length > 0) {
    const packages = missing.map((command) => PACKAGES[command]!);
    log(`installing ${packages.join(", ")} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    if (update.status !== 0) throw new Error("apt-get update failed");
    const install = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
    if (install.status !== 0) throw new Error(`apt-get install ${packages.join(" ")} failed`);
  }
  const etcd = which("etcd");
  const h2load = which("h2load");
  if (!etcd || !h2load) throw new Error("etcd or h2load still missing after apt-get install");
  return { etcd, h2load };
}

/** `etcd --version`'s first line. */
export function etcdVersion(etcd: string): string {
  return spawnSync(etcd, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]?.trim() ?? "unknown";
}
