import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { freePort } from "./process.js";

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
