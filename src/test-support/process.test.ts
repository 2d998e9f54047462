import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { freePort, PortClaims, removeDir, tempDir } from "./process.js";

test("freePort: bindable ports below the ephemeral range, never the same one twice", async () => {
  const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  const ports = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    assert.ok(!ports.has(port), `port ${port} handed out twice`);
    ports.add(port);
    if (ephemeralLow >= 12000) assert.ok(port >= 10000 && port < ephemeralLow, `port ${port} outside [10000, ${ephemeralLow})`);
    // Bindable: a listener can take it at once.
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
  }
});

test("PortClaims: a port claimed by a live process is refused, one left by a dead process is taken over", () => {
  const dir = tempDir("armada-claims-");
  try {
    const mine = new PortClaims(dir);
    assert.equal(mine.claim(20001), true);
    assert.equal(readFileSync(join(dir, "20001"), "utf8"), String(process.pid));
    // Another claimant while this (live) process holds the port.
    const other = new PortClaims(dir);
    assert.equal(other.claim(20001), false);
    // Held by the parent process (alive): refused too.
    writeFileSync(join(dir, "20002"), String(process.ppid));
    assert.equal(mine.claim(20002), false);
    // Left by a process that is gone: taken over.
    writeFileSync(join(dir, "20003"), "999999999");
    assert.equal(mine.claim(20003), true);
    assert.equal(readFileSync(join(dir, "20003"), "utf8"), String(process.pid));
    // Released: free for the next claimant, and the file is gone.
    mine.release(20001);
    assert.equal(existsSync(join(dir, "20001")), false);
    assert.equal(other.claim(20001), true);
    other.releaseAll();
    mine.releaseAll();
    assert.deepEqual(readdirSync(dir).sort(), ["20002"]);
  } finally {
    removeDir(dir);
  }
});
