/**
 * Open-loop HTTP load for fault tests and bench/faults: requests start on a fixed schedule,
 * whether or not earlier ones were answered (a hung service then shows up as requests in
 * flight, not as a slower sender), and each answer is kept with its latency.
 */

export interface Answer {
  /** Milliseconds since the load started, when the request was sent. */
  at: number
  /** HTTP status; 0 when the request failed without an answer. */
  status: number
  ms: number
  retryAfter: string | null
  body: string
  /** Which request kind of the mix this was. */
  kind: string
}

export interface Shot {
  kind: string
  path: string
  /** application/x-www-form-urlencoded fields. */
  form?: Record<string, string>
}

/**
 * Sends `rate` requests per second for `seconds`, taking `shots` in turn, against `base`; the
 * promise resolves when every request has been answered or has failed.
 */
export async function openLoop(
  base: string,
  shots: readonly Shot[],
  options: { rate: number; seconds: number; timeoutMs?: number },
): Promise<Answer[]> {
  const started = performance.now()
  const total = Math.round(options.rate * options.seconds)
  const pending: Promise<Answer>[] = []
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.rate
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const shot = shots[i % shots.length] as Shot
    pending.push(send(base, shot, started, options.timeoutMs ?? 30_000))
  }
  return Promise.all(pending)
}

async function send(base: string, shot: Shot, started: number, timeoutMs: number): Promise<Answer> {
  const t0 = performance.now()
  const at = t0 - started
  try {
    const res = await fetch(base + shot.path, {
      method: shot.form === undefined ? 'GET' : 'POST',
      ...(shot.form === undefined
        ? {}
        : {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(shot.form).toString(),
          }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    const body = await res.text()
    return {
      at,
      status: res.status,
      ms: performance.now() - t0,
      retryAfter: res.headers.get('retry-after'),
      body,
      kind: shot.kind,
    }
  } catch (err) {
    return {
      at,
      status: 0,
      ms: performance.now() - t0,
      retryAfter: null,
      body: String(err),
      kind: shot.kind,
    }
  }
}

/**
 * Polls GET /readyz every `everyMs` until stopped; returns samples of when (ms since start) an
 * answer arrived and whether it said ready.
 */
export function pollReadiness(
  base: string,
  everyMs = 100,
): { stop(): Promise<{ at: number; ready: boolean }[]>; started: number } {
  const started = performance.now()
  const samples: { at: number; ready: boolean }[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      // Stamped when the answer arrives: a probe that hangs for two seconds and then says
      // "not ready" told the orchestrator so two seconds late.
      const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3000) }).then(
        async (res) => {
          await res.arrayBuffer()
          return res.status === 200
        },
        () => false,
      )
      samples.push({ at: performance.now() - started, ready })
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    started,
    async stop() {
      running = false
      await loop
      return samples
    },
  }
}

/**
 * When readiness first showed `ready` at or after `from` (ms since the poll started), as the
 * time that answer arrived; null when it never did.
 */
export function firstSample(
  samples: readonly { at: number; ready: boolean }[],
  from: number,
  ready: boolean,
): number | null {
  return samples.find((s) => s.at >= from && s.ready === ready)?.at ?? null
}

/** Sorted percentile of `values` (0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}
