/**
 * The engine's NetworkPort over the peer transport (src/transport).
 */
import type { PeerTransport } from "../../transport/index.js";
import type { GroupMessage, NetworkPort } from "./ports.js";

export class TransportPort implements NetworkPort {
  constructor(private readonly transport: PeerTransport) {}

  send(batch: readonly GroupMessage[]): void {
    this.transport.send(batch);
  }

  sendSnapshot(to: number, groupId: number, header: Uint8Array, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    return this.transport.sendSnapshot(to, groupId, header, chunks);
  }

  request(to: number, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.transport.request(to, payload, timeoutMs);
  }

  connectedPeers(): ReadonlySet<number> {
    const connected = new Set<number>();
    for (const [peerId, status] of this.transport.peerStatus()) if (status.connected) connected.add(peerId);
    return connected;
  }
}
