/**
 * The `/debug/*` endpoints (spec §13.2): Node.js counterparts of the reference's Go profiling handlers.
 * A heap snapshot pauses the process while it is written, so these are for operators, on demand only.
 */
import type { ServerResponse } from "node:http";
import { Session } from "node:inspector/promises";
import { getHeapSnapshot } from "node:v8";
import { pipeline } from "node:stream/promises";

/** Longest CPU profile one request may ask for. */
export const PROFILE_SECONDS_MAX = 300;
/** Length of a CPU profile when the request names none (the reference's default). */
export const PROFILE_SECONDS_DEFAULT = 30;

type DebugHandler = (url: URL, response: ServerResponse) => Promise<void>;

const ROUTES: Readonly<Record<string, DebugHandler>> = {
  "/debug/cmdline": cmdline,
  "/debug/heap": heapSnapshot,
  "/debug/profile": cpuProfile,
};

/** The handler of a debug path, or undefined (404). */
export function debugRoute(pathname: string): DebugHandler | undefined {
  return Object.hasOwn(ROUTES, pathname) ? ROUTES[pathname] : undefined;
}

async function cmdline(_url: URL, response: ServerResponse): Promise<void> {
  response.setHeader("Content-Type", "text/plain; charset=utf-8");
  response.end(process.argv.join("\0"));
}

async function heapSnapshot(_url: URL, response: ServerResponse): Promise<void> {
  response.setHeader("Content-Type", "application/octet-stream");
  response.setHeader("Content-Disposition", `attachment; filename="armada-${process.pid}-${Date.now()}.heapsnapshot"`);
  await pipeline(getHeapSnapshot(), response);
}

async function cpuProfile(url: URL, response: ServerResponse): Promise<void> {
  const asked = url.searchParams.get("seconds");
  const seconds = asked === null ? PROFILE_SECONDS_DEFAULT : Number(asked);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > PROFILE_SECONDS_MAX) {
    response.statusCode = 400;
    response.end(`invalid seconds '${asked}': expected a number in (0, ${PROFILE_SECONDS_MAX}]\n`);
    return;
  }
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = await session.post("Profiler.stop");
    response.setHeader("Content-Type", "application/json");
    response.setHeader("Content-Disposition", `attachment; filename="armada-${process.pid}-${Date.now()}.cpuprofile"`);
    response.end(JSON.stringify(profile));
  } finally {
    session.disconnect();
  }
}
