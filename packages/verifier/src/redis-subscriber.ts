/**
 * The feed's subscriber connection, for one Redis server or a Redis Cluster.
 *
 * One server (or a Sentinel-managed primary): the caller's client `duplicate()`d, SUBSCRIBE, as
 * before. ioredis reconnects and emits `ready`, and the feed resyncs.
 *
 * Cluster: the bridge publishes with SPUBLISH (sharded pub/sub), so messages stay on the shard
 * that owns `<prefix>revocations`, the slot of the snapshot too. We hold one plain connection
 * to that shard's master (a duplicate of the Cluster's own node connection, so credentials and
 * TLS carry over) and SSUBSCRIBE there. When that master dies, is demoted or the slot moves,
 * the connection is dropped (or Redis sends SUNSUBSCRIBE); we ask the Cluster for a fresh slot
 * map and connect to the new owner. Each new connection emits `ready`, on which the feed
 * re-subscribes AND re-reads the snapshot: whatever was published during the failover is in it.
 *
 * Only ioredis types are imported: the caller's client is the only ioredis in the process.
 */
import { EventEmitter } from 'node:events'
import type { Cluster, Redis } from 'ioredis'
import { keySlot } from './slot.ts'

/** What the feed uses of its subscriber connection (a subset of ioredis' Redis). */
export interface FeedSubscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): this
  on(event: 'error', listener: (err: unknown) => void): this
  on(event: 'close' | 'ready', listener: () => void): this
  removeAllListeners(event: 'message'): this
  readonly status: string
  connect(): Promise<void>
  subscribe(channel: string): Promise<unknown>
  ping(): Promise<unknown>
  quit(): Promise<unknown>
  /** Drops the connection; with `reconnect`, a new one is opened (and the feed resyncs). */
  disconnect(reconnect?: boolean): void
}

/** The subscriber for `client`: a duplicate for one server, a shard follower for a Cluster. */
export function feedSubscriber(client: Redis | Cluster, channel: string): FeedSubscriber {
  if (client.isCluster) return new ShardSubscriber(client as Cluster, channel)
  return (client as Redis).duplicate({ lazyConnect: true, enableOfflineQueue: true })
}

const MAX_BACKOFF_MS = 2000

/** Follows the master of `channel`'s slot across failovers (see the top of the file). */
class ShardSubscriber extends EventEmitter implements FeedSubscriber {
  readonly #cluster: Cluster
  readonly #channel: string
  readonly #slot: number
  #conn: Redis | undefined
  #closed = false
  #attempt = 0
  #timer: NodeJS.Timeout | undefined

  constructor(cluster: Cluster, channel: string) {
    super()
    this.#cluster = cluster
    this.#channel = channel
    this.#slot = keySlot(channel)
  }

  get status(): string {
    return this.#conn?.status ?? 'wait'
  }

  async connect(): Promise<void> {
    await this.#open()
  }

  async subscribe(channel: string): Promise<unknown> {
    const conn = this.#conn
    if (conn === undefined || channel !== this.#channel) throw new Error('not connected')
    return conn.ssubscribe(channel)
  }

  async ping(): Promise<unknown> {
    const conn = this.#conn
    if (conn === undefined) throw new Error('not connected')
    // The Cluster's slot map may have moved on (a failover seen by the caller's commands):
    // then this master no longer carries the channel, however alive it is.
    const owner = this.#cluster.slots[this.#slot]?.[0]
    if (owner !== undefined && owner !== address(conn)) {
      this.#drop(conn)
      throw new Error('revocation channel moved to another shard')
    }
    return conn.ping()
  }

  async quit(): Promise<unknown> {
    this.#closed = true
    clearTimeout(this.#timer)
    return this.#conn?.quit()
  }

  disconnect(reconnect = false): void {
    if (reconnect) {
      // Ending the connection makes its 'end' handler look up the slot's master again.
      if (this.#conn !== undefined) this.#drop(this.#conn)
      return
    }
    this.#closed = true
    clearTimeout(this.#timer)
    this.#conn?.disconnect()
  }

  /** Connects to the slot's current master; on failure, schedules the next try. */
  async #open(): Promise<void> {
    if (this.#closed) return
    try {
      // A Cluster client connects lazily or may still be fetching its first slot map.
      if (this.#cluster.status !== 'ready') await this.#cluster.ping()
      const owner = this.#cluster.slots[this.#slot]?.[0]
      const node = this.#cluster.nodes('master').find((n) => address(n) === owner)
      if (node === undefined) throw new Error(`no master known for slot ${this.#slot}`)
      // No reconnects of its own: a lost master is left for the one now owning the slot.
      const conn = node.duplicate({
        lazyConnect: true,
        enableOfflineQueue: true,
        retryStrategy: () => null,
        readOnly: false,
      })
      this.#conn = conn
      conn.on('smessage', (ch: string, message: string) => this.emit('message', ch, message))
      conn.on('error', (err: unknown) => this.emit('error', err))
      conn.on('ready', () => {
        this.#attempt = 0
        this.emit('ready')
      })
      // Redis unsubscribes shard channels whose slot this node no longer serves.
      conn.on('sunsubscribe', () => this.#drop(conn))
      conn.on('end', () => {
        if (this.#conn !== conn) return
        this.emit('close')
        this.#retry()
      })
      await conn.connect()
    } catch (err) {
      this.emit('error', err)
      this.#retry()
    }
  }

  #drop(conn: Redis): void {
    if (this.#conn === conn) conn.disconnect()
  }

  #retry(): void {
    if (this.#closed || this.#timer !== undefined) return
    this.#conn = undefined
    // Whoever answered MOVED or failed may have refreshed it already; ask again regardless.
    this.#cluster.refreshSlotsCache()
    const delay = Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(this.#attempt++, 10))
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#open()
    }, delay)
    this.#timer.unref()
  }
}

function address(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`
}
