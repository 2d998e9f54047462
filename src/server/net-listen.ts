/**
 * Starting a listening socket of Armada's own (the connection-limited and the HTTP/2-front listeners; the
 * TLS listener has its own, in security/tls-listener.ts) on a TCP address or a Unix socket path.
 */
import type { Server as NetServer } from "node:net";
import type { ListenAddress } from "../config/address.js";

/** Starts `listener` on `address`; resolves with the bound TCP port (0 for a Unix socket). */
export async function listenOn(listener: NetServer, address: ListenAddress): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    const ready = () => { listener.off("error", reject); resolve(); };
    if ("path" in address) listener.listen(address.path, ready);
    else listener.listen(address.port, address.host === "" ? "0.0.0.0" : address.host, ready);
  });
  const bound = listener.address();
  return typeof bound === "object" && bound ? bound.port : 0;
}
