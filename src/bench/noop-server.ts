/**
 * The ceiling of Armada's gRPC stack: a grpc-js server with Armada's listener options and Armada's
 * binding layer (api/bind.ts, with its fast unary path) whose KV handlers do nothing but answer an empty
 * response. No Armada handler can be faster than this. It records no metrics (Armada's listeners do). It
 * takes the garbage collector settings a node takes at start (server/gc-tuning.ts), so that the two differ
 * only in their handlers. Run as its own process: `node dist/bench/noop-server.js`; prints
 * `noop listening <address>` once bound, stops on SIGTERM.
 */
import * as grpc from "@grpc/grpc-js";
import { bindService, type Handler } from "../api/bind.js";
import { KV_SERVICE } from "../proto/services.js";
import { listen, serverOptions } from "../server/listen.js";
import { tuneGarbageCollectorForServing } from "../server/gc-tuning.js";
import { enableHttp2Front } from "../server/http2-front.js";

tuneGarbageCollectorForServing();

const server = new grpc.Server(serverOptions());
// The same HTTP/2 front as the API listener (server/http2-front.ts).
enableHttp2Front(server);
const empty = async () => ({});
const handlers: Record<string, Handler> = { Range: empty, Put: empty, Txn: empty, DeleteRange: empty };
bindService(server, KV_SERVICE, handlers, { defaultDeadlineMs: () => 5000 });
const address = await listen(server, process.argv[2] ?? "http://127.0.0.1:0");
console.log(`noop listening ${address}`);
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
