import { test } from "node:test";
import assert from "node:assert/strict";
import { isTlsScheme, parseListenAddress } from "./address.js";
import { ConfigError } from "./errors.js";

test("http and https addresses give host and port", () => {
  // Proves the TCP forms of spec §12.4, including IPv6 and an empty host (all interfaces).
  assert.deepEqual(parseListenAddress("http://0.0.0.0:8443"), { scheme: "http", host: "0.0.0.0", port: 8443 });
  assert.deepEqual(parseListenAddress("https://example.com:443/"), { scheme: "https", host: "example.com", port: 443 });
  assert.deepEqual(parseListenAddress("http://[::1]:0"), { scheme: "http", host: "::1", port: 0 });
  assert.deepEqual(parseListenAddress("http://:8080"), { scheme: "http", host: "", port: 8080 });
  assert.deepEqual(parseListenAddress("HTTPS://h:1"), { scheme: "https", host: "h", port: 1 });
});

test("unix and unixs addresses give the socket path from host plus path", () => {
  // Proves `unix:///run/armada.sock` → `/run/armada.sock` and `unix://rel/armada.sock` → `rel/armada.sock`.
  assert.deepEqual(parseListenAddress("unix:///run/armada.sock"), { scheme: "unix", path: "/run/armada.sock" });
  assert.deepEqual(parseListenAddress("unix://rel/armada.sock"), { scheme: "unix", path: "rel/armada.sock" });
  assert.deepEqual(parseListenAddress("unixs:///tmp/a b.sock"), { scheme: "unixs", path: "/tmp/a b.sock" });
});

test("unknown or missing schemes are rejected with the spec's message", () => {
  // Proves the [FIX] of §12.4: no silent fallback to plaintext TCP, no mis-parsed host:port.
  for (const value of ["0.0.0.0:8443", "tcp://0.0.0.0:8443", "grpc://h:1", "", "localhost"]) {
    assert.throws(() => parseListenAddress(value), (err: unknown) =>
      err instanceof ConfigError &&
      err.message === `invalid address '${value}': scheme must be one of http, https, unix, unixs`, value);
  }
});

test("malformed hosts, ports and paths are rejected with a reason", () => {
  // Proves a scheme alone is not enough: the listener must be bindable.
  const cases: Array<[string, string]> = [
    ["http://host", "invalid address 'http://host': expected http://host:port"],
    ["http://host:port", "invalid address 'http://host:port': expected http://host:port"],
    ["http://host:70000", "invalid address 'http://host:70000': port 70000 is out of range (0-65535)"],
    ["https://h:1/api", `invalid address 'https://h:1/api': unexpected path "/api"`],
    ["unix://", "invalid address 'unix://': missing socket path"],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseListenAddress(value), (err: unknown) => err instanceof ConfigError && err.message === message, value);
  }
});

test("bare host:port is TLS only where the backup tool allows it", () => {
  // Proves spec §11.6: `--address 127.0.0.1:8445` means TLS for backup/restore and is refused elsewhere.
  assert.deepEqual(parseListenAddress("127.0.0.1:8445", { allowBareHostPort: true }),
    { scheme: "https", host: "127.0.0.1", port: 8445 });
  assert.deepEqual(parseListenAddress("unix:///s", { allowBareHostPort: true }), { scheme: "unix", path: "/s" });
  assert.throws(() => parseListenAddress("127.0.0.1:8445"), ConfigError);
  assert.equal(isTlsScheme("https"), true);
  assert.equal(isTlsScheme("unixs"), true);
  assert.equal(isTlsScheme("http"), false);
  assert.equal(isTlsScheme("unix"), false);
});
