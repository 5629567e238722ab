/**
 * A load of rotations and revocations that a test runs across a Redis failover, keeping the
 * client's side of the truth: for each user, the refresh token (jti) it was last given, and the
 * families whose revocation was acknowledged. A failed call (DependencyError, a 503 to a real
 * client) is retried with the same token after a short pause, as a client honouring Retry-After
 * would. Afterwards `verify()` checks nothing acknowledged was lost.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { DependencyError } from '../../src/errors.ts'
import type { TokenStore } from '../../src/store/index.ts'

const GRACE_MS = 10_000
// The bridge's default REFRESH_RETRY_SECONDS (1 h): a retry after a failure window longer than
// the grace window (14.5 s once, on an overloaded machine) is still a retry, as in production.
const RETRY_MS = 3_600_000

interface User {
  id: string
  familyId: string
  jti: string
}

/** What a run measured. */
export interface FailoverFigures {
  /** Calls acknowledged (rotations, revocations, creations). */
  acked: number
  /** Calls that failed with a DependencyError (each retried until it succeeded). */
  failed: number
  /** From the first failed call's start to the last failed call's end, ms (0 without failures). */
  windowMs: number
  /** Rotations answered `reuse` or `missing` for a token the client held: logouts. */
  logouts: number
  /** Rotations that only succeeded through the grace path (a retried, already-applied rotation). */
  graceRetries: number
  /** Anything other than DependencyError thrown by the store. */
  unexpected: string[]
}

const jti = () => randomBytes(9).toString('base64url')

/** Rotations and, every `revokeEvery`-th step, a revocation plus a fresh family, per user. */
export function failoverLoad(store: TokenStore, users: number, revokeEvery = 5) {
  const live: User[] = []
  const revoked: { userId: string; familyId: string; jti: string }[] = []
  const figures: FailoverFigures = {
    acked: 0,
    failed: 0,
    windowMs: 0,
    logouts: 0,
    graceRetries: 0,
    unexpected: [],
  }
  let firstFail = Infinity
  let lastFail = -Infinity
  let running = true

  /** Runs `op` until it does not throw DependencyError; counts failures. */
  async function retrying<T>(op: () => Promise<T>): Promise<T> {
    for (;;) {
      const start = Date.now()
      try {
        const v = await op()
        figures.acked++
        return v
      } catch (err) {
        if (!(err instanceof DependencyError)) {
          figures.unexpected.push(String(err))
          throw err
        }
        figures.failed++
        firstFail = Math.min(firstFail, start)
        lastFail = Math.max(lastFail, Date.now())
        await sleep(100)
      }
    }
  }

  /** A login: each attempt is a new family (a retried exchange mints new ids, as the bridge does). */
  async function create(userId: string): Promise<User> {
    let u: User = { id: userId, familyId: '', jti: '' }
    await retrying(() => {
      u = { id: userId, familyId: `fam-${jti()}`, jti: jti() }
      return store.createFamily({
        familyId: u.familyId,
        userId: u.id,
        sessionKey: null,
        authHash: null,
        authTime: 0,
        currentJti: u.jti,
        refreshTtl: 600,
        maxAge: 600,
      })
    })
    return u
  }

  async function user(i: number): Promise<void> {
    let u = await create(`user-${i}-${jti()}`)
    live[i] = u
    for (let step = 1; running; step++) {
      if (step % revokeEvery === 0) {
        await retrying(() => store.revokeFamily(u.id, u.familyId, 'logout'))
        revoked.push({ userId: u.id, familyId: u.familyId, jti: u.jti })
        u = await create(u.id)
        live[i] = u
      } else {
        await refresh(u)
      }
    }
  }

  /** rotate() with the successor's jti tracked (the sealed bytes are the jti). */
  async function refresh(u: User): Promise<void> {
    const presented = u.jti
    let chosen = ''
    const r = await retrying(() => {
      chosen = jti()
      return store.rotate({
        userId: u.id,
        familyId: u.familyId,
        presentedJti: presented,
        nextJti: chosen,
        successorSealed: Buffer.from(chosen),
        refreshTtl: 600,
        graceMs: GRACE_MS,
        retryMs: RETRY_MS,
      })
    })
    if (r.outcome === 'rotated') u.jti = chosen
    else if (r.outcome === 'grace') {
      figures.graceRetries++
      u.jti = r.successorSealed.toString()
    } else figures.logouts++
  }

  const done = Promise.all(Array.from({ length: users }, (_, i) => user(i)))

  return {
    figures,
    /** Stops the load and waits for every user's last call. */
    async stop(): Promise<FailoverFigures> {
      running = false
      await done
      figures.windowMs = figures.failed === 0 ? 0 : lastFail - firstFail
      return figures
    },
    /**
     * After recovery: every user's last token still refreshes (no one logged out) and every
     * acknowledged revocation holds (no revoked token works again).
     */
    async verify(): Promise<{ lostRotations: number; revivedFamilies: number }> {
      let lostRotations = 0
      let revivedFamilies = 0
      for (const u of live) await refreshChecked(u, () => lostRotations++)
      for (const r of revoked) {
        const f = await store.getFamily(r.userId, r.familyId)
        if (f !== null) revivedFamilies++
      }
      return { lostRotations, revivedFamilies }
    },
  }

  async function refreshChecked(u: User, lost: () => void): Promise<void> {
    const next = jti()
    const r = await store.rotate({
      userId: u.id,
      familyId: u.familyId,
      presentedJti: u.jti,
      nextJti: next,
      successorSealed: Buffer.from(next),
      refreshTtl: 600,
      graceMs: GRACE_MS,
      retryMs: RETRY_MS,
    })
    if (r.outcome === 'rotated') u.jti = next
    else lost()
  }
}

/** What happened to a revocation and a rotation sent to a primary in its last moments. */
export interface LastWrites {
  /** The store acknowledged them (resolved) rather than failing them (503). */
  revocationAcked: boolean
  rotationAcked: boolean
  /** After the failover: the acknowledged revocation is gone (the family lives again). */
  revocationLost: boolean
  /** After the failover: the acknowledged rotation is gone (the client's token would be reuse). */
  rotationLost: boolean
}

/**
 * Sends a revocation and a rotation for one user while `lastMoments` cuts the primary off and
 * kills it (see isolateThenKill), waits for `promoted`, retries whatever was not acknowledged
 * (as a client does after a 503) and reports what an acknowledged write turned into.
 */
export async function writesAcrossFailover(
  store: TokenStore,
  userId: string,
  lastMoments: (write: () => Promise<unknown>) => Promise<PromiseSettledResult<unknown>>,
  promoted: () => Promise<void>,
): Promise<LastWrites> {
  const family = async (familyId: string, current: string) =>
    store.createFamily({
      familyId,
      userId,
      sessionKey: null,
      authHash: null,
      authTime: 0,
      currentJti: current,
      refreshTtl: 600,
      maxAge: 600,
    })
  const revoked = `fam-${jti()}`
  const rotated = `fam-${jti()}`
  const first = jti()
  const next = jti()
  await family(revoked, jti())
  await family(rotated, first)
  // Let the replica have both families: only the last writes should be at stake.
  await sleep(300)
  const rotate = () =>
    store.rotate({
      userId,
      familyId: rotated,
      presentedJti: first,
      nextJti: next,
      successorSealed: Buffer.from(next),
      refreshTtl: 600,
      graceMs: GRACE_MS,
      retryMs: RETRY_MS,
    })
  let revocationAcked = false
  let rotationAcked = false
  const result = await lastMoments(() =>
    Promise.allSettled([
      store.revokeFamily(userId, revoked, 'logout').then(() => (revocationAcked = true)),
      rotate().then((r) => (rotationAcked = r.outcome === 'rotated')),
    ]),
  )
  if (result.status === 'rejected' && !(result.reason instanceof DependencyError)) {
    throw result.reason
  }
  await promoted()
  const retry = async <T>(op: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await op()
      } catch (err) {
        if (!(err instanceof DependencyError) || i > 50) throw err
        await sleep(100)
      }
    }
  }
  // What the client does next: a revocation that got a 503 is sent again; a refresh that got
  // a 503 is retried with the same token; one that succeeded continues with the new token.
  if (!revocationAcked) await retry(() => store.revokeFamily(userId, revoked, 'logout'))
  if (!rotationAcked) await retry(rotate)
  const revocationLost = (await retry(() => store.getFamily(userId, revoked))) !== null
  const state = await retry(() => store.getFamily(userId, rotated))
  return {
    revocationAcked,
    rotationAcked,
    revocationLost,
    rotationLost: state === null || state.generation === 0,
  }
}
