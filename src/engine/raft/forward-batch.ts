/**
 * Proposals forwarded to a leader on another node, in batches: every proposal forwarded to the same node in
 * one turn of the event loop travels in one peer request and is answered in one response.
 *
 * Why: one request per forwarded write cost about 120 µs of CPU on each of the two nodes (framing, a pending
 * request entry, JSON and base64 both ways, a Raft round scheduled per proposal on the leader), and a 3-node
 * cluster taking writes on every member spent more on forwarding than on Raft (docs/performance.md).
 *
 * Request payload (binary; the first byte tells it apart from the JSON requests, which start with `{`):
 *   u8 FORWARD_BATCH_TAG, u32 count, then per proposal: u32 groupId, u32 length, `length` bytes of data.
 * Response: a JSON array with one outcome per proposal, in request order.
 *
 * The leader decodes and checks the whole batch before proposing anything: a malformed batch is refused
 * as a whole (the handler throws, nothing was proposed), and once it starts proposing it never throws, so
 * "the handler failed" always still means "nothing of this batch was proposed".
 *
 * Mixed versions: a node from before batching answers a batch with a handler failure (it cannot parse it).
 * Since that means nothing was proposed, the batch's proposals are then sent one by one in the older
 * single-proposal form (JSON, data in base64), and so is everything forwarded to that node for the next
 * LEGACY_RETRY_MS; then a batch is tried again.
 */
import { FreshMap } from "../../runtime/fresh-tables.js";

/** First byte of a batch request. */
export const FORWARD_BATCH_TAG = 0x01;
/** A batch is sent as soon as its data reaches this size (a single larger proposal goes alone). */
export const FORWARD_BATCH_BYTES_MAX = 4 * 1024 * 1024;
/** Most proposals in one batch (bounds the response and the leader's work per request). */
export const FORWARD_BATCH_COUNT_MAX = 4096;

/** How long a node that refused a batch is sent single proposals before a batch is tried again. */
export const LEGACY_RETRY_MS = 60_000;

const HEADER_BYTES = 5;
const ITEM_HEADER_BYTES = 8;

/** What the leader did with one forwarded proposal: its log position, or why it did not propose it. */
export type ForwardOutcome = { index: number; term: number } | { error: string; leaderId?: number };

export interface ForwardedProposal {
  readonly groupId: number;
  readonly data: Uint8Array;
}

export function encodeForwardBatch(proposals: readonly ForwardedProposal[]): Buffer {
  let bytes = HEADER_BYTES;
  for (const proposal of proposals) bytes += ITEM_HEADER_BYTES + proposal.data.length;
  const out = Buffer.allocUnsafe(bytes);
  out[0] = FORWARD_BATCH_TAG;
  out.writeUInt32BE(proposals.length, 1);
  let at = HEADER_BYTES;
  for (const { groupId, data } of proposals) {
    out.writeUInt32BE(groupId, at);
    out.writeUInt32BE(data.length, at + 4);
    out.set(data, at + ITEM_HEADER_BYTES);
    at += ITEM_HEADER_BYTES + data.length;
  }
  return out;
}

/** Decodes a whole batch request, or throws (before anything is proposed) when it is malformed. */
export function decodeForwardBatch(payload: Uint8Array): ForwardedProposal[] {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (bytes.length < HEADER_BYTES || bytes[0] !== FORWARD_BATCH_TAG) throw new Error("malformed forwarded proposal batch: bad header");
  const count = bytes.readUInt32BE(1);
  if (count > FORWARD_BATCH_COUNT_MAX) throw new Error(`malformed forwarded proposal batch: ${count} proposals, at most ${FORWARD_BATCH_COUNT_MAX}`);
  const proposals: ForwardedProposal[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ITEM_HEADER_BYTES > bytes.length) throw new Error(`malformed forwarded proposal batch: proposal ${i} is cut off`);
    const groupId = bytes.readUInt32BE(at);
    const length = bytes.readUInt32BE(at + 4);
    at += ITEM_HEADER_BYTES;
    if (at + length > bytes.length) throw new Error(`malformed forwarded proposal batch: proposal ${i} is cut off`);
    // A copy: the entry outlives the request (log, entry cache), and must not pin the whole batch's buffer.
    proposals.push({ groupId, data: Buffer.from(bytes.subarray(at, at + length)) });
    at += length;
  }
  if (at !== bytes.length) throw new Error(`malformed forwarded proposal batch: ${bytes.length - at} bytes after the last proposal`);
  return proposals;
}

export function encodeForwardOutcomes(outcomes: readonly ForwardOutcome[]): Buffer {
  return Buffer.from(JSON.stringify(outcomes));
}

export function decodeForwardOutcomes(payload: Uint8Array, expected: number): ForwardOutcome[] {
  const outcomes = parseJson(payload);
  if (!Array.isArray(outcomes) || outcomes.length !== expected) throw new Error(`the leader answered a batch of ${expected} proposals with a malformed response`);
  return outcomes as ForwardOutcome[];
}

/** The single-proposal request of earlier versions. */
export function encodeLegacyProposal({ groupId, data }: ForwardedProposal): Buffer {
  return Buffer.from(JSON.stringify({ kind: "propose", groupId, data: Buffer.from(data).toString("base64") }));
}

function decodeLegacyOutcome(payload: Uint8Array): ForwardOutcome {
  const outcome = parseJson(payload);
  if (typeof outcome !== "object" || outcome === null || Array.isArray(outcome)) throw new Error("the leader answered a forwarded proposal with a malformed response");
  return outcome as ForwardOutcome;
}

function parseJson(payload: Uint8Array): unknown {
  return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8"));
}

/** Whether a request failed in the peer's handler (which, for a batch, means nothing was proposed). */
function refusedByHandler(error: unknown): boolean {
  return (error as { reason?: unknown } | null)?.reason === "remoteError";
}

/** Sends one request to a peer (NetworkPort.request with the timeout bound in). */
export type SendRequest = (to: number, payload: Uint8Array) => Promise<Uint8Array>;

interface Waiting {
  readonly proposal: ForwardedProposal;
  resolve(outcome: ForwardOutcome): void;
  reject(error: unknown): void;
}

/**
 * Collects forwarded proposals per destination node and sends them together on the next turn of the event
 * loop (setImmediate: after every request read in the same I/O phase has been handled). A failed request
 * rejects every proposal of its batch with the same error, so the caller judges "not sent" versus "outcome
 * unknown" exactly as for a single proposal.
 */
export class ForwardBatcher {
  private readonly pending = new FreshMap<number, { waiting: Waiting[]; bytes: number }>();
  /** Nodes that refused a batch, with the time (`now()`) until which they get single proposals. */
  private readonly legacyUntil = new Map<number, number>();
  private scheduled = false;

  constructor(
    private readonly send: SendRequest,
    private readonly now: () => number = Date.now,
  ) {}

  forward(to: number, proposal: ForwardedProposal): Promise<ForwardOutcome> {
    return new Promise<ForwardOutcome>((resolve, reject) => {
      let batch = this.pending.get(to);
      if (batch === undefined) {
        batch = { waiting: [], bytes: 0 };
        this.pending.set(to, batch);
      }
      batch.waiting.push({ proposal, resolve, reject });
      batch.bytes += proposal.data.length;
      if (batch.bytes >= FORWARD_BATCH_BYTES_MAX || batch.waiting.length >= FORWARD_BATCH_COUNT_MAX) {
        this.pending.delete(to);
        this.sendBatch(to, batch.waiting);
        return;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [to, batch] of batches) this.sendBatch(to, batch.waiting);
  }

  private sendBatch(to: number, waiting: readonly Waiting[]): void {
    const legacyUntil = this.legacyUntil.get(to);
    if (legacyUntil !== undefined) {
      if (this.now() < legacyUntil) return this.sendSingly(to, waiting);
      this.legacyUntil.delete(to);
    }
    let payload: Buffer;
    try {
      payload = encodeForwardBatch(waiting.map((w) => w.proposal));
    } catch (error) {
      for (const w of waiting) w.reject(error);
      return;
    }
    this.send(to, payload).then(
      (response) => {
        let outcomes: ForwardOutcome[];
        try {
          outcomes = decodeForwardOutcomes(response, waiting.length);
        } catch (error) {
          for (const w of waiting) w.reject(error);
          return;
        }
        waiting.forEach((w, i) => w.resolve(outcomes[i]!));
      },
      (error: unknown) => {
        if (refusedByHandler(error)) {
          this.legacyUntil.set(to, this.now() + LEGACY_RETRY_MS);
          this.sendSingly(to, waiting);
          return;
        }
        for (const w of waiting) w.reject(error);
      },
    );
  }

  /** Sends each proposal in the single-proposal form of earlier versions. */
  private sendSingly(to: number, waiting: readonly Waiting[]): void {
    for (const w of waiting) {
      this.send(to, encodeLegacyProposal(w.proposal)).then((response) => {
        let outcome: ForwardOutcome;
        try {
          outcome = decodeLegacyOutcome(response);
        } catch (error) {
          w.reject(error);
          return;
        }
        w.resolve(outcome);
      }, w.reject);
    }
  }
}
