/** Medians, the printed table and the verdict of the exchange benchmark. */
import type { WrkResult } from './wrk.ts'

export const TARGET_RATIO = 20
export const TARGET_P99_MS = 10

export interface Summary {
  /** Each figure is the median over the measured runs, taken separately. */
  rps: number
  p50Ms: number
  p99Ms: number
  /** Totals over the measured runs: any of these makes the side's figures invalid. */
  non200: number
  socketErrors: number
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  const hi = s[mid] ?? Number.NaN
  return s.length % 2 === 1 ? hi : ((s[mid - 1] ?? Number.NaN) + hi) / 2
}

export function summarize(runs: readonly WrkResult[]): Summary {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    non200: runs.reduce((n, r) => n + r.non200, 0),
    socketErrors: runs.reduce((n, r) => n + r.socketErrors, 0),
  }
}

export function clean(s: Summary): boolean {
  return s.non200 === 0 && s.socketErrors === 0
}

export interface Verdict {
  ratio: number | null
  ratioPass: boolean | null
  p99Pass: boolean | null
  pass: boolean
}

export function verdict(peer: Summary, bridge: Summary | undefined): Verdict {
  if (bridge === undefined) return { ratio: null, ratioPass: null, p99Pass: null, pass: false }
  const ratio = bridge.rps / peer.rps
  const ratioPass = ratio >= TARGET_RATIO
  const p99Pass = bridge.p99Ms <= TARGET_P99_MS
  return { ratio, ratioPass, p99Pass, pass: ratioPass && p99Pass && clean(peer) && clean(bridge) }
}

const row = (cells: readonly string[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(22) : c.padStart(10))).join(' ')

function summaryRow(name: string, s: Summary): string {
  return row([
    name,
    s.rps.toFixed(1),
    s.p50Ms.toFixed(2),
    s.p99Ms.toFixed(2),
    String(s.non200),
    String(s.socketErrors),
  ])
}

export function formatRun(label: string, r: WrkResult): string {
  const bad = r.non200 > 0 ? `  ${r.non200} non-200 (first: ${String(r.firstBadStatus)})` : ''
  const sock = r.socketErrors > 0 ? `  ${r.socketErrors} socket errors` : ''
  return `  ${label.padEnd(20)} ${r.rps.toFixed(1).padStart(9)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  (${r.requests} requests)${bad}${sock}`
}

export function formatTable(
  peer: Summary,
  bridge: Summary | undefined,
  v: Verdict,
  bridgeWhyNot: string,
): string {
  const passFail = (b: boolean | null): string => (b === null ? 'n/a' : b ? 'PASS' : 'FAIL')
  const lines = [
    row(['', 'req/s', 'p50 ms', 'p99 ms', 'non-200', 'sock err']),
    summaryRow('peer (Django+simplejwt)', peer),
    bridge === undefined ? row(['bridge', 'not measured']) : summaryRow('bridge', bridge),
    '',
  ]
  if (bridge === undefined || v.ratio === null) {
    lines.push(`ratio bridge/peer: n/a: the bridge could not be measured. ${bridgeWhyNot}`)
  } else {
    lines.push(
      `ratio bridge/peer: ${v.ratio.toFixed(1)}x   (target >= ${TARGET_RATIO}x)   ${passFail(v.ratioPass)}`,
    )
    lines.push(
      `bridge p99:        ${bridge.p99Ms.toFixed(2)} ms (target <= ${TARGET_P99_MS} ms)   ${passFail(v.p99Pass)}`,
    )
  }
  if (!clean(peer))
    lines.push('peer had non-200 responses or socket errors: its figures are not valid')
  if (bridge !== undefined && !clean(bridge)) {
    lines.push('bridge had non-200 responses or socket errors: its figures are not valid')
  }
  lines.push(`overall: ${v.pass ? 'PASS' : 'FAIL'}`)
  return lines.join('\n')
}
