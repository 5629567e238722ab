/**
 * Child processes of the tests: a TypeScript entry point (src/main.ts, src/cli/main.ts) run as
 * `npm start` would run it, with exactly the environment given, and the loopback port it may
 * listen on. Every file's children are killed by killSpawned() in its after(), so a failed test
 * never leaves a service holding the run open.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export { freePort, untilReady } from './instances.ts'

/** src/main.ts and src/cli/main.ts, from the repository the tests run in. */
export const MAIN = join(process.cwd(), 'src/main.ts')
export const CLI = join(process.cwd(), 'src/cli/main.ts')
// Resolved from the repository, since a child may run in an empty folder.
const TSX = import.meta.resolve('tsx')

/** How a child ended, with everything it wrote. */
export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

export interface Spawned {
  child: ChildProcess
  /** Resolves when the child exits. */
  exited: Promise<Run>
}

const running = new Set<ChildProcess>()

/** Runs the TypeScript `file` with `args` in `cwd`, with exactly `env` (PATH aside). */
export function spawnTs(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Spawned {
  const child = spawn(process.execPath, ['--import', TSX, file, ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  running.add(child)
  const exited = new Promise<Run>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child)
      resolve({ code, stdout, stderr })
    }),
  )
  return { child, exited }
}

/** SIGKILL every child spawnTs started that has not exited. */
export function killSpawned(): void {
  for (const child of running) child.kill('SIGKILL')
}
