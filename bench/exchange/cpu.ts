/**
 * CPU seconds used by a process and all its descendants (gunicorn's workers, the node server),
 * read from /proc. Throughput on this shared VM swings with the neighbours; CPU time per request
 * swings far less, so it is reported next to req/s.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS = 100 // USER_HZ on Linux

interface ProcStat {
  ppid: number
  cpuSeconds: number
}

function stat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const ppid = Number(fields[1])
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return { ppid, cpuSeconds: (utime + stime) / TICKS }
  } catch {
    return undefined
  }
}

export function treeCpuSeconds(root: number): number {
  const all = new Map<number, ProcStat>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = stat(Number(name))
    if (s !== undefined) all.set(Number(name), s)
  }
  const inTree = new Set<number>([root])
  let grew = true
  while (grew) {
    grew = false
    for (const [pid, s] of all) {
      if (!inTree.has(pid) && inTree.has(s.ppid)) {
        inTree.add(pid)
        grew = true
      }
    }
  }
  let total = 0
  for (const pid of inTree) total += all.get(pid)?.cpuSeconds ?? 0
  return total
}
