/**
 * Where keys come from: a JWKS object given at creation, or the bridge's JWKS URL.
 *
 * Remote keys follow jose's `createRemoteJWKSet` model with the gaps filled in:
 * - fetched with a timeout, a body size cap, and no redirects (the URL is configuration; a
 *   redirect could point anywhere, B5);
 * - fresh for as long as `Cache-Control`/`Expires` say, clamped to [jwksMinAge, jwksMaxAge]; after
 *   that the next request triggers a background refetch while the current keys keep serving;
 * - an unknown `kid` triggers at most one refetch per cooldown, so a flood of random kids costs no
 *   outbound calls (B3), and a new signing key is picked up without a restart (B2). The cooldown
 *   counts from the last fetch made *for an unknown kid* only: a routine refetch (keys past their
 *   freshness) made before a new key was published must not keep its first token from fetching
 *   (jose counts every fetch, which fails a rotation for up to 30 s);
 * - an unusable key in the JWKS is reported through `onError` once when it appears, not on every
 *   refetch while it stays published (a kid-triggered refetch would otherwise repeat the report);
 * - when refetching fails, the last good keys keep serving until `jwksMaxStale` past their
 *   freshness (stale-if-error), then verification fails closed with `keys_unavailable` (B4);
 * - a failed, empty or older response never replaces a newer good key set (B4);
 * - a key removed from the JWKS stops verifying at the next successful fetch, cached results
 *   included, because cache hits re-check the kid's key (B6).
 */
import {
  KeysUnavailableError,
  UnknownKeyError,
  type KeyRejectedError,
  type VerifierError,
} from './errors.ts'
import { importJwks, type KeyEntry } from './keys.ts'
import type { Algorithm } from './types.ts'

/**
 * A snapshot of where the keys stand, for health checks. Times are epoch ms.
 *
 * @example
 * ```ts
 * const { kids, stale, lastError } = verifier.status().keys
 * if (stale) log.warn({ lastError }, 'JWKS refresh failing; serving the last good keys')
 * ```
 */
export interface KeysStatus {
  readonly source: 'static' | 'remote'
  readonly kids: readonly string[]
  /** When the current keys were fetched (undefined before the first success or for static keys). */
  readonly fetchedAt: number | undefined
  /** Until when the keys are fresh; after it a refetch is due. */
  readonly freshUntil: number
  /** Until when the keys may be used at all (freshUntil + jwksMaxStale). */
  readonly usableUntil: number
  /** The keys are past freshUntil (typically because refetching fails). */
  readonly stale: boolean
  /** The last fetch failure, if the last attempt failed. */
  readonly lastError: string | undefined
}

export interface KeySource {
  /** Hot path: the kid's key if usable now. May start a background refetch. */
  get(kid: string, now: number): KeyEntry | undefined
  /** Slow path when get() found nothing: refetch if allowed, then look again. */
  resolve(kid: string): Promise<KeyEntry>
  /** Fetch now, whatever the cache and cooldown say (static keys: a no-op). */
  refresh(): Promise<void>
  status(now: number): KeysStatus
}

export class StaticKeySource implements KeySource {
  private readonly keys: ReadonlyMap<string, KeyEntry>

  constructor(keys: ReadonlyMap<string, KeyEntry>) {
    this.keys = keys
  }

  get(kid: string): KeyEntry | undefined {
    return this.keys.get(kid)
  }

  resolve(kid: string): Promise<KeyEntry> {
    const key = this.keys.get(kid)
    return key === undefined ? Promise.reject(new UnknownKeyError()) : Promise.resolve(key)
  }

  refresh(): Promise<void> {
    return Promise.resolve()
  }

  status(): KeysStatus {
    return {
      source: 'static',
      kids: [...this.keys.keys()],
      fetchedAt: undefined,
      freshUntil: Infinity,
      usableUntil: Infinity,
      stale: false,
      lastError: undefined,
    }
  }
}

export interface RemoteKeySourceOptions {
  readonly url: URL
  readonly algorithms: ReadonlySet<Algorithm>
  /** All durations in milliseconds here; the public options are seconds. */
  readonly timeoutMs: number
  readonly cooldownMs: number
  readonly minAgeMs: number
  readonly maxAgeMs: number
  readonly maxStaleMs: number
  readonly maxBytes: number
  readonly now: () => number
  readonly onError: (err: VerifierError) => void
}

/** After a failed fetch, wait at most this long before trying again (the cooldown may be shorter). */
const RETRY_AFTER_FAILURE_MS = 5_000

export class RemoteKeySource implements KeySource {
  private readonly o: RemoteKeySourceOptions
  private keys: ReadonlyMap<string, KeyEntry> = new Map()
  private fetchedAt: number | undefined
  private freshUntil = -Infinity
  private usableUntil = -Infinity
  private lastAttemptAt = -Infinity
  /** When the last fetch for an unknown kid started: the B3 cooldown counts from here only. */
  private lastKidFetchAt = -Infinity
  /** Identities of the unusable keys the last fetch reported (see `reportNew`). */
  private reported: ReadonlySet<string> = new Set()
  private lastError: KeysUnavailableError | undefined
  private inflight: Promise<void> | undefined
  /** Fetches are numbered; a response is applied only if no later-started fetch was applied. */
  private started = 0
  private applied = 0

  constructor(options: RemoteKeySourceOptions) {
    this.o = options
  }

  get(kid: string, now: number): KeyEntry | undefined {
    if (now >= this.freshUntil) this.refreshInBackground(now)
    if (now >= this.usableUntil) return undefined
    return this.keys.get(kid)
  }

  async resolve(kid: string): Promise<KeyEntry> {
    if (this.inflight !== undefined) {
      const cold = this.fetchedAt === undefined
      const startedAt = this.lastAttemptAt
      await this.inflight.catch(() => undefined)
      // A verifier that had no keys yet: the first fetch is the fetch for every kid waiting on
      // it, so a cold start with a random kid costs one fetch, not two (B3).
      if (cold) this.lastKidFetchAt = Math.max(this.lastKidFetchAt, startedAt)
    }
    if (
      !this.keys.has(kid) &&
      this.mayFetch(this.o.now(), this.o.cooldownMs, this.lastKidFetchAt)
    ) {
      this.lastKidFetchAt = this.o.now()
      await this.startFetch().catch(() => undefined)
    }
    const now = this.o.now()
    if (now >= this.usableUntil) {
      throw new KeysUnavailableError(
        this.fetchedAt === undefined ? 'signing keys are unavailable' : 'signing keys are too old',
        this.lastError === undefined ? undefined : { cause: this.lastError },
      )
    }
    const key = this.keys.get(kid)
    if (key === undefined) throw new UnknownKeyError()
    return key
  }

  refresh(): Promise<void> {
    return this.startFetch()
  }

  status(now: number): KeysStatus {
    return {
      source: 'remote',
      kids: now < this.usableUntil ? [...this.keys.keys()] : [],
      fetchedAt: this.fetchedAt,
      freshUntil: this.freshUntil,
      usableUntil: this.usableUntil,
      stale: now >= this.freshUntil,
      lastError: this.lastError?.cause instanceof Error ? this.lastError.cause.message : undefined,
    }
  }

  /**
   * A fetch is allowed once `gap` has passed since `since`. After a failure every kind of fetch
   * waits min(cooldown, 5 s) since the last attempt of any kind, so an outage costs one attempt
   * per interval, not one per request.
   */
  private mayFetch(now: number, gap: number, since: number): boolean {
    if (this.lastError !== undefined) {
      return now - this.lastAttemptAt >= Math.min(this.o.cooldownMs, RETRY_AFTER_FAILURE_MS)
    }
    return now - since >= gap
  }

  private refreshInBackground(now: number): void {
    if (this.inflight !== undefined || !this.mayFetch(now, 0, this.lastAttemptAt)) return
    // Errors are reported through onError inside startFetch; nobody awaits this one.
    this.startFetch().catch(() => undefined)
  }

  private startFetch(): Promise<void> {
    const seq = ++this.started
    this.lastAttemptAt = this.o.now()
    const p = this.fetchAndApply(seq).finally(() => {
      if (this.inflight === p) this.inflight = undefined
    })
    this.inflight = p
    return p
  }

  private async fetchAndApply(seq: number): Promise<void> {
    let imported
    let maxAgeSeconds: number | undefined
    try {
      const res = await fetchJwks(this.o.url, this.o.timeoutMs, this.o.maxBytes)
      maxAgeSeconds = res.maxAgeSeconds
      imported = importJwks(res.document, this.o.algorithms, this.keys)
      this.reportNew(imported.rejected)
      if (imported.keys.size === 0) throw new Error('JWKS has no usable keys')
    } catch (cause) {
      const err = new KeysUnavailableError('JWKS fetch failed', { cause })
      // Only the newest attempt decides whether we are in a failure state.
      if (seq >= this.applied) this.lastError = err
      this.o.onError(err)
      throw err
    }
    // An older fetch that finishes after a newer one must not roll the keys back (B4).
    if (seq < this.applied) return
    this.applied = seq
    const now = this.o.now()
    const ageMs = Math.min(
      this.o.maxAgeMs,
      Math.max(
        this.o.minAgeMs,
        maxAgeSeconds === undefined ? this.o.maxAgeMs : maxAgeSeconds * 1000,
      ),
    )
    this.keys = imported.keys
    this.fetchedAt = now
    this.freshUntil = now + ageMs
    this.usableUntil = this.freshUntil + this.o.maxStaleMs
    this.lastError = undefined
  }

  /**
   * Report each unusable key once while it stays published: refetches (routine or for an unknown
   * kid) would otherwise repeat the same report. Only the last fetch's set is kept, so memory is
   * bounded by one JWKS, and a key that leaves and comes back is reported again.
   */
  private reportNew(rejected: readonly KeyRejectedError[]): void {
    const ids = new Set<string>()
    for (const err of rejected) {
      // The message names the kid and the defect: the same key with the same defect is one report.
      const id = `${err.kid ?? ''}\u0000${err.message}`
      ids.add(id)
      if (!this.reported.has(id)) this.o.onError(err)
    }
    this.reported = ids
  }
}

interface FetchedJwks {
  readonly document: unknown
  readonly maxAgeSeconds: number | undefined
}

/** GETs the JWKS with a timeout, no redirects and a size cap; returns the JSON and its max-age. */
export async function fetchJwks(
  url: URL,
  timeoutMs: number,
  maxBytes: number,
): Promise<FetchedJwks> {
  const res = await fetch(url, {
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/jwk-set+json, application/json' },
  })
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined)
    throw new Error(`JWKS endpoint answered HTTP ${res.status}`)
  }
  const declared = Number(res.headers.get('content-length') ?? '0')
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined)
    throw new Error('JWKS response is too large')
  }
  const chunks: Uint8Array[] = []
  let total = 0
  if (res.body !== null) {
    const reader = res.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined)
        throw new Error('JWKS response is too large')
      }
      chunks.push(value)
    }
  }
  let document: unknown
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)))
  } catch {
    throw new Error('JWKS response is not UTF-8 JSON')
  }
  return { document, maxAgeSeconds: cacheLifetime(res.headers) }
}

/**
 * How long the response may be cached, in seconds, from `Cache-Control` (no-store/no-cache → 0,
 * else max-age minus Age) or `Expires` minus `Date`. undefined when the headers say nothing.
 */
export function cacheLifetime(headers: Headers): number | undefined {
  const cc = headers.get('cache-control')
  if (cc !== null) {
    const directives = cc
      .toLowerCase()
      .split(',')
      .map((d) => d.trim())
    if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0
    for (const d of directives) {
      const m = /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(d)
      if (m !== null) {
        const age = Number(headers.get('age') ?? '0')
        return Math.max(0, Number(m[1]) - (Number.isFinite(age) ? age : 0))
      }
    }
  }
  const expires = headers.get('expires')
  if (expires !== null) {
    const e = Date.parse(expires)
    const date = Date.parse(headers.get('date') ?? '')
    if (Number.isNaN(e)) return 0 // RFC 9111 §5.3: an invalid Expires means "already expired".
    if (!Number.isNaN(date)) return Math.max(0, (e - date) / 1000)
  }
  return undefined
}
