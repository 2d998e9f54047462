/**
 * Runs asynchronous write tasks strictly one after another (LMDB has one writer; applies, recoveries and
 * shutdown must not interleave).
 */
export class WriteQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every previously queued task has settled; resolves or rejects with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
