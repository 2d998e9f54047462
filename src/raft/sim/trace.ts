import type { Message } from '../types.js';
import { TIME_UNITS_PER_TICK } from './params.js';

const TRACE_LINES_MAX = 40;

/** A ring of the last events of a run, printed when a seed fails. */
export class TraceLog {
  private readonly ring: string[] = [];
  private next = 0;

  add(time: number, text: string): void {
    const line = `t=${(time / TIME_UNITS_PER_TICK).toFixed(2)} ${text}`;
    if (this.ring.length < TRACE_LINES_MAX) this.ring.push(line);
    else this.ring[this.next] = line;
    this.next = (this.next + 1) % TRACE_LINES_MAX;
  }

  /** Oldest first. */
  lines(): string[] {
    return this.ring.length < TRACE_LINES_MAX ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}

/** A one-line summary of a message. */
export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}→${m.to} t${m.term}`;
  switch (m.type) {
    case 'append':
      return `${head} prev ${m.index}/${m.logTerm} n=${m.entries.length} commit ${m.commit}`;
    case 'appendResponse':
      return `${head} index ${m.index}${m.reject ? ` reject hint ${m.rejectHint}/${m.logTerm}` : ''}`;
    case 'vote':
    case 'preVote':
      return `${head} last ${m.index}/${m.logTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResponse':
    case 'preVoteResponse':
      return `${head} ${m.reject ? 'reject' : 'grant'}`;
    case 'snapshot':
      return `${head} at ${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`;
    case 'readIndexResponse':
      return `${head} index ${m.index}`;
    default:
      return head;
  }
}
