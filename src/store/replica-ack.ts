/**
 * Acknowledge a write only once a replica has it (`WAIT <replicas> <timeout>`), so a failover
 * cannot undo what a client was already told: a lost rotation would make the client's new token
 * look like reuse (the family is revoked, the user logged out), a lost revocation would let a
 * revoked token work again. Measured in test/store/cluster.test.ts and sentinel.test.ts; the
 * trade-off is in docs/operations.md.
 *
 * WAIT covers every write sent earlier on the same connection, and blocks that connection
 * while it waits, so calls are grouped: one WAIT in flight per primary, and every write that
 * completes meanwhile shares the next one (group commit), instead of one WAIT per write.
 */
import type { Cluster, Redis } from 'ioredis'
import { keySlot } from './slot.ts'
import type { RedisLike } from './topology.ts'

/** How many replicas must confirm each write, and for how long to wait for them. */
export interface ReplicaAckOptions {
  /** 0 turns the waiting off. */
  replicas: number
  /** Milliseconds; past this the write is reported as failed (its effect may still be there). */
  timeoutMs: number
}

/** Thrown when fewer replicas than required confirmed in time; the caller answers 503. */
export class ReplicaAckError extends Error {
  constructor(got: number, wanted: number) {
    super(`only ${got} of ${wanted} replicas confirmed the write in time`)
    this.name = 'ReplicaAckError'
  }
}

interface Barrier {
  inFlight: Promise<void> | null
  queued: Promise<void> | null
}

/** Runs a write to `key`, then resolves with its reply once a replica has confirmed it. */
export type AckedWrite = <T>(key: string, write: () => Promise<T>) => Promise<T>

/** The acknowledged-write wrapper for `client` (a plain pass-through with 0 replicas). */
export function replicaAck(client: RedisLike, options: ReplicaAckOptions): AckedWrite {
  if (options.replicas <= 0) return (_key, write) => write()
  const barriers = new WeakMap<Redis, Barrier>()

  const waitOn = async (node: Redis): Promise<void> => {
    const got = await node.wait(options.replicas, options.timeoutMs)
    if (got < options.replicas) throw new ReplicaAckError(got, options.replicas)
  }

  /** The WAIT that covers writes answered up to now on `node`: the queued one, or a new one. */
  const barrier = (node: Redis): Promise<void> => {
    let b = barriers.get(node)
    if (b === undefined) barriers.set(node, (b = { inFlight: null, queued: null }))
    const state = b
    if (state.queued !== null) return state.queued
    const start = (): Promise<void> => {
      const p = waitOn(node).finally(() => {
        if (state.inFlight === p) state.inFlight = null
      })
      state.inFlight = p
      return p
    }
    if (state.inFlight === null) return start()
    // A WAIT already sent may have been sent before this write's reply: queue the next one.
    const queued = state.inFlight
      .catch(() => undefined)
      .then(() => {
        state.queued = null
        return start()
      })
    state.queued = queued
    return queued
  }

  return async (key, write) => {
    if (!client.isCluster) {
      const reply = await write()
      await barrier(client as Redis)
      return reply
    }
    const cluster = client as Cluster
    try {
      // The primary is taken before the write: if the slot moves meanwhile, the WAIT goes to
      // the old owner and fails (dead, or a replica now), which reports the write as failed.
      // Taken after, a WAIT on the new owner could confirm offsets without this write.
      const node = ownerOf(cluster, key)
      const reply = await write()
      await barrier(node)
      return reply
    } catch (err) {
      // After a failover the cached slot map is stale (the owner is gone from it, a write was
      // redirected, or reached a restarted node about to learn it was demoted), and a failure
      // before the write reaches Redis would never teach the client otherwise: refresh it, so
      // the retry goes to, and waits on, the current owner.
      cluster.refreshSlotsCache()
      throw err
    }
  }
}

/** The connection the Cluster client uses for `key`'s master (where the write just went). */
function ownerOf(cluster: Cluster, key: string): Redis {
  const owner = cluster.slots[keySlot(key)]?.[0]
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner)
  // Slots moved since the write (a failover): no WAIT can confirm it any more.
  if (node === undefined) throw new ReplicaAckError(0, 1)
  return node
}
