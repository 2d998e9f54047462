/**
 * A certificate and private key read from PEM files and kept current while the process runs (spec §12.1:
 * rotating the files takes effect without a restart). The files are watched (their directories, so that
 * replace-by-rename and Kubernetes' symlink swaps are seen), re-read on SIGHUP, and re-read every
 * half minute in case the file system delivers no events (network and some overlay file systems). A pair that does not load
 * — a half-written file, a key that belongs to another certificate — is reported and the previous pair stays
 * in use, so a botched rotation never takes a listener down.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { watch, readFileSync, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/** A loaded certificate chain and its key. */
export interface Identity {
  /** The PEM certificate chain as read, leaf first. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The leaf certificate, for its subject and expiry. */
  readonly leaf: X509Certificate;
}

/**
 * Reads and checks a certificate/key pair.
 * @throws Error naming the file and the problem: unreadable, not a PEM certificate, not a key, or a key that
 *   does not belong to the certificate.
 */
export function readIdentity(certFilename: string, keyFilename: string): Identity {
  const cert = readFile(certFilename, "certificate");
  const key = readFile(keyFilename, "key");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`certificate file ${certFilename} holds no PEM certificate: ${message(error)}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`key file ${keyFilename} holds no PEM private key: ${message(error)}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new Error(`key file ${keyFilename} does not belong to certificate ${certFilename}`);
  }
  return { cert, key, leaf };
}

/** Reads a PEM bundle of CA certificates and checks that it holds at least one. */
export function readCaBundle(caFilename: string): Buffer {
  const ca = readFile(caFilename, "CA");
  try {
    new X509Certificate(ca);
  } catch (error) {
    throw new Error(`CA file ${caFilename} holds no PEM certificate: ${message(error)}`);
  }
  return ca;
}

function readFile(filename: string, what: string): Buffer {
  try {
    return readFileSync(filename);
  } catch (error) {
    throw new Error(`cannot read ${what} file ${filename}: ${message(error)}`);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface WatchedIdentityOptions {
  /** Called after a changed pair was loaded. */
  readonly onReload?: (identity: Identity) => void;
  /** Called when the files changed but could not be loaded; the previous pair stays in use. */
  readonly onError?: (error: Error) => void;
  /** Quiet time after the last file event before re-reading, so cert and key written one after the other land together. */
  readonly debounceMs?: number;
  /** Re-read on SIGHUP (default true). */
  readonly reloadOnSighup?: boolean;
  /** Period of the fallback re-read; 0 turns it off. */
  readonly pollMs?: number;
}

/** A certificate/key pair that follows its files; {@link close} stops watching. */
export class WatchedIdentity {
  #current: Identity;
  readonly #watchers: FSWatcher[] = [];
  readonly #listeners = new Set<(identity: Identity) => void>();
  #timer: NodeJS.Timeout | undefined;
  readonly #poll: NodeJS.Timeout | undefined;
  /** The last load error reported, so a broken pair is reported once, not on every poll. */
  #lastError = "";
  readonly #onSighup = () => this.reload();
  #closed = false;

  /** Loads the pair now (throwing if it does not load) and starts watching. */
  constructor(readonly certFilename: string, readonly keyFilename: string, private readonly options: WatchedIdentityOptions = {}) {
    this.#current = readIdentity(certFilename, keyFilename);
    if (options.onReload) this.#listeners.add(options.onReload);
    const names = new Set([basename(certFilename), basename(keyFilename)]);
    for (const dir of new Set([dirname(certFilename), dirname(keyFilename)])) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, file) => {
          // Kubernetes mounts swap a `..data` symlink; any name starting with ".." may be that.
          if (file === null || names.has(String(file)) || String(file).startsWith("..")) this.#schedule();
        });
        watcher.on("error", () => watcher.close());
        this.#watchers.push(watcher);
      } catch {
        // A directory that cannot be watched still reloads on SIGHUP.
      }
    }
    if (options.reloadOnSighup !== false) process.on("SIGHUP", this.#onSighup);
    const pollMs = options.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.#poll = setInterval(() => this.reload(), pollMs);
      this.#poll.unref();
    }
  }

  get current(): Identity {
    return this.#current;
  }

  /** Calls `listener` after every successful reload that changed the pair. */
  onChange(listener: (identity: Identity) => void): void {
    this.#listeners.add(listener);
  }

  /** Re-reads the files now; returns true when a changed pair was loaded. */
  reload(): boolean {
    if (this.#closed) return false;
    let next: Identity;
    try {
      next = readIdentity(this.certFilename, this.keyFilename);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (failure.message !== this.#lastError) this.options.onError?.(failure);
      this.#lastError = failure.message;
      return false;
    }
    this.#lastError = "";
    if (next.cert.equals(this.#current.cert) && next.key.equals(this.#current.key)) return false;
    this.#current = next;
    for (const listener of this.#listeners) listener(next);
    return true;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    for (const watcher of this.#watchers) watcher.close();
    process.off("SIGHUP", this.#onSighup);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.reload(), this.options.debounceMs ?? 200);
    this.#timer.unref();
  }
}
