/**
 * A small FIFO counting semaphore for KDF work.
 *
 * Why: every PBKDF2/scrypt/argon2/bcrypt call runs on libuv's threadpool (4 threads by default),
 * which DNS lookups and fs calls share. Without a bound, a login flood queues hundreds of
 * second-long hashes there and starves the rest of the process. With `permits` = cores − 1 at most
 * that many hashes run at once, the rest wait here in arrival order (no barging, so no request
 * waits forever), and one core stays free for the event loop.
 */

export interface SemaphoreStats {
  permits: number
  /** Work running now. */
  inFlight: number
  /** Work waiting for a permit. */
  queued: number
  /** The most that ever ran at once (for tests and metrics). */
  maxInFlight: number
  /** Work items finished (resolved or rejected). */
  completed: number
}

export class Semaphore {
  readonly #permits: number
  #inFlight = 0
  #maxInFlight = 0
  #completed = 0
  // A queue with a moving head: O(1) dequeue without Array#shift's copying under a flood.
  #waiters: Array<() => void> = []
  #head = 0

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`semaphore permits must be a positive integer, got ${permits}`)
    }
    this.#permits = permits
  }

  /** Run `work` once a permit is free; the permit is returned however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire()
    try {
      return await work()
    } finally {
      this.#completed++
      this.#release()
    }
  }

  stats(): SemaphoreStats {
    return {
      permits: this.#permits,
      inFlight: this.#inFlight,
      queued: this.#waiters.length - this.#head,
      maxInFlight: this.#maxInFlight,
      completed: this.#completed,
    }
  }

  #acquire(): Promise<void> {
    if (this.#inFlight < this.#permits && this.#head === this.#waiters.length) {
      this.#take()
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      this.#waiters.push(() => {
        this.#take()
        resolve()
      })
    })
  }

  #take(): void {
    this.#inFlight++
    if (this.#inFlight > this.#maxInFlight) this.#maxInFlight = this.#inFlight
  }

  #release(): void {
    this.#inFlight--
    const next = this.#waiters[this.#head]
    if (next === undefined) return
    this.#head++
    if (this.#head === this.#waiters.length) {
      this.#waiters = []
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head)
      this.#head = 0
    }
    next()
  }
}
