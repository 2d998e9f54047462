import type { TestContext } from "node:test";
import net from "node:net";
import { once } from "node:events";

/**
 * A connected pair of loopback TCP sockets, [the accepted end, the client end], destroyed after the test.
 * `options` are the listening server's (pauseOnConnect, for one).
 */
export async function loopbackSocketPair(t: TestContext, options: net.ServerOpts = {}): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer(options);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const client = net.connect(port, "127.0.0.1");
  const [socket] = await accepted;
  server.close();
  t.after(() => {
    socket.destroy();
    client.destroy();
  });
  return [socket, client];
}
