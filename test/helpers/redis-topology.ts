/**
 * Real Redis topologies for tests, started by the test on free loopback ports in a temp dir and
 * removed afterwards: a 3-master / 3-replica Cluster (`redis-server --cluster-enabled yes` × 6,
 * then `redis-cli --cluster create … --cluster-replicas 1`) and a Sentinel setup (1 master,
 * 1 replica, 3 sentinels). Timeouts are short (node timeout 1000 ms, sentinel down-after 2500 ms)
 * so a failover takes seconds. Every process is the test's own: nothing touches the shared Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { freePort, freePorts } from './instances.ts'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

/** One redis-server (or sentinel) process the test can kill and start again. */
export interface RedisProcess {
  readonly port: number
  /** SIGKILL: an outage, no shutdown handshake, nothing flushed beyond what AOF already has. */
  kill(): Promise<void>
  /** Starts it again with the same arguments (plus `extra`) and data directory. */
  start(extra?: readonly string[]): Promise<void>
  readonly alive: boolean
}

/** Polls PING until the server answers (or throws after `ms`). */
async function answers(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const c = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: 500,
    })
    c.on('error', () => {})
    try {
      await c.connect()
      await c.ping()
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis on ${port} did not start`, { cause: err })
    } finally {
      c.disconnect()
    }
    await sleep(50)
  }
}

function redisProcess(port: number, args: readonly string[]): RedisProcess {
  let child: ChildProcess | null = null
  const self = {
    port,
    get alive() {
      return child !== null && child.exitCode === null
    },
    async start(extra: readonly string[] = []) {
      if (self.alive) return
      const started = spawn('redis-server', [...args, ...extra], { stdio: 'ignore' })
      child = started
      // A server that exits at once (its port taken by another process since it was picked)
      // fails here with its exit code, not after answers()'s whole wait.
      const exited = once(started, 'exit').then(([code]) => {
        throw new Error(`redis-server on ${port} exited with ${String(code)} (port taken?)`)
      })
      // Handled here too: after a normal start, the exit comes with kill(), and nobody awaits it.
      exited.catch(() => {})
      await Promise.race([answers(port), exited])
    },
    async kill() {
      const c = child
      child = null
      if (c === null || c.exitCode !== null) return
      const exited = once(c, 'exit')
      c.kill('SIGKILL')
      await exited
    },
  }
  return self
}

/** A client to one node, for test set-up and inspection (not the bridge's client). */
export function nodeClient(port: number): Redis {
  const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null })
  c.on('error', () => {})
  return c
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      if (await check()) return
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

async function info(port: number, section: string): Promise<string> {
  const c = nodeClient(port)
  try {
    return await c.info(section)
  } finally {
    c.disconnect()
  }
}

async function clusterInfo(port: number): Promise<string> {
  const c = nodeClient(port)
  try {
    return await c.cluster('INFO')
  } finally {
    c.disconnect()
  }
}

const COMMON = ['--bind', '127.0.0.1', '--save', '', '--daemonize', 'no', '--protected-mode', 'no']

export interface TestCluster {
  /** Every node, masters first as created (a failover changes roles; see `masters()`). */
  readonly nodes: readonly RedisProcess[]
  /** Seed nodes for REDIS_CLUSTER_NODES / ioredis Cluster. */
  readonly seeds: readonly { host: string; port: number }[]
  /** The ports of the nodes that are masters right now (asked of a live node). */
  masters(): Promise<number[]>
  /** The port of the master that owns `slot` right now. */
  ownerOf(slot: number): Promise<number>
  /** The port of the replica of the master on `port` right now. */
  replicaOf(port: number): Promise<number>
  /** Waits until every slot is served and every master has a connected replica. */
  healthy(ms?: number): Promise<void>
  stop(): Promise<void>
}

interface SlotRange {
  from: number
  to: number
  master: number
  replicas: number[]
}

async function slotMap(nodes: readonly RedisProcess[]): Promise<SlotRange[]> {
  for (const n of nodes) {
    if (!n.alive) continue
    const c = nodeClient(n.port)
    try {
      const raw = await c.cluster('SLOTS')
      return raw.map(([from, to, ...owners]) => ({
        from,
        to,
        master: owners[0]?.[1] ?? 0,
        replicas: owners.slice(1).map((r) => r[1]),
      }))
    } catch {
      // try the next node
    } finally {
      c.disconnect()
    }
  }
  throw new Error('no live cluster node')
}

/** Starts a 3-master, 3-replica cluster (AOF on, node timeout `nodeTimeoutMs`). */
export async function startCluster(nodeTimeoutMs = 1000): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'djb-cluster-'))
  const nodes: RedisProcess[] = []
  try {
    const ports = await freePorts(12)
    for (let i = 0; i < 6; i++) {
      const port = ports[2 * i] ?? 0
      const bus = ports[2 * i + 1] ?? 0
      const data = join(dir, String(port))
      await mkdir(data)
      nodes.push(
        redisProcess(port, [
          ...COMMON,
          '--port', String(port),
          '--cluster-enabled', 'yes',
          '--cluster-port', String(bus),
          '--cluster-config-file', join(data, 'nodes.conf'),
          '--cluster-node-timeout', String(nodeTimeoutMs),
          '--appendonly', 'yes',
          '--dir', data,
          '--repl-diskless-sync', 'yes',
          '--repl-diskless-sync-delay', '0',
          '--logfile', join(data, 'log'),
        ]), // prettier-ignore
      )
    }
    await Promise.all(nodes.map((n) => n.start()))
    const create = spawn(
      'redis-cli',
      [
        '--cluster', 'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas', '1',
        '--cluster-yes',
      ], // prettier-ignore
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    create.stdout.on('data', (d: Buffer) => (out += d.toString()))
    create.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const [code] = (await once(create, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`redis-cli --cluster create failed:\n${out}`)
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()))
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  const cluster: TestCluster = {
    nodes,
    seeds: nodes.slice(0, 3).map((n) => ({ host: '127.0.0.1', port: n.port })),
    async masters() {
      return [...new Set((await slotMap(nodes)).map((r) => r.master))]
    },
    async ownerOf(slot) {
      const r = (await slotMap(nodes)).find((x) => x.from <= slot && slot <= x.to)
      if (r === undefined) throw new Error(`slot ${slot} is not served`)
      return r.master
    },
    async replicaOf(port) {
      const r = (await slotMap(nodes)).find((x) => x.master === port)
      const replica = r?.replicas[0]
      if (replica === undefined) throw new Error(`master ${port} has no replica`)
      return replica
    },
    async healthy(ms = 20_000) {
      await until('a healthy cluster', ms, async () => {
        for (const n of nodes) {
          if (n.alive && !/cluster_state:ok/.test(await clusterInfo(n.port))) return false
        }
        const map = await slotMap(nodes)
        const covered = map.reduce((sum, r) => sum + r.to - r.from + 1, 0)
        if (covered !== 16384) return false
        for (const m of new Set(map.map((r) => r.master))) {
          const repl = await info(m, 'replication')
          if (!/connected_slaves:[1-9]/.test(repl)) return false
          if (/slave0:.*state=(wait_bgsave|send_bulk)/.test(repl)) return false
        }
        return true
      })
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()))
      await rm(dir, { recursive: true, force: true })
    },
  }
  try {
    await cluster.healthy()
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}

export interface TestSentinel {
  readonly master: RedisProcess
  readonly replica: RedisProcess
  readonly sentinels: readonly RedisProcess[]
  readonly masterName: string
  /** The port of the master the sentinels announce right now. */
  currentMaster(): Promise<number>
  /**
   * Waits until a failover could happen again and WAIT 1 holds: every sentinel announces the
   * same master, the master streams to an online replica that answers WAIT, and every sentinel
   * lists that replica as healthy (a sentinel promotes only replicas it has seen recently).
   * Returns the master's port; on time-out the error carries the sentinels' log tails.
   */
  settled(ms?: number): Promise<number>
  /** The last lines of every server's and sentinel's log, for a failure message. */
  logs(): Promise<string>
  stop(): Promise<void>
}

/**
 * Starts 1 master, 1 replica (AOF on) and 3 sentinels (down-after `downAfterMs`). Not lower: on
 * a loaded CI machine a just-promoted master missed a sentinel's pings for 1 s, and a second,
 * unasked-for failover made the old master master again (seen once at 1000 ms).
 */
export async function startSentinel(downAfterMs = 2500): Promise<TestSentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'djb-sentinel-'))
  const masterName = 'djbtest'
  const procs: RedisProcess[] = []
  try {
    const data = async (port: number) => {
      const d = join(dir, String(port))
      await mkdir(d)
      return d
    }
    const serverArgs = async (port: number) => [
      ...COMMON,
      '--port', String(port),
      '--appendonly', 'yes',
      '--dir', await data(port),
      '--repl-diskless-sync', 'yes',
      '--repl-diskless-sync-delay', '0',
      '--logfile', join(dir, String(port), 'log'),
    ] // prettier-ignore
    const mPort = await freePort()
    const master = redisProcess(mPort, await serverArgs(mPort))
    procs.push(master)
    await master.start()
    const rPort = await freePort()
    const replica = redisProcess(rPort, [
      ...(await serverArgs(rPort)),
      '--replicaof', '127.0.0.1', String(mPort),
    ]) // prettier-ignore
    procs.push(replica)
    await replica.start()
    await until('the replica to sync', 10_000, async () =>
      /master_link_status:up/.test(await info(rPort, 'replication')),
    )
    const sentinels: RedisProcess[] = []
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const conf = join(dir, `sentinel-${port}.conf`)
      // Sentinel rewrites its config file (it must be writable): one file each.
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${port}.log`)}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${mPort} 2`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 2000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      )
      const s = redisProcess(port, [conf, '--sentinel'])
      sentinels.push(s)
      procs.push(s)
    }
    await Promise.all(sentinels.map((s) => s.start()))
    // A failover needs every sentinel to know the replica and the other sentinels (hello
    // messages every 2 s); wait for that rather than sleeping a fixed time.
    await until('sentinels to discover each other and the replica', 20_000, async () => {
      for (const s of sentinels) {
        const c = nodeClient(s.port)
        try {
          const others = (await c.call('SENTINEL', 'SENTINELS', masterName)) as unknown[]
          const replicas = (await c.call('SENTINEL', 'REPLICAS', masterName)) as unknown[]
          if (others.length < 2 || replicas.length < 1) return false
        } finally {
          c.disconnect()
        }
      }
      return true
    })
    return {
      master,
      replica,
      sentinels,
      masterName,
      async currentMaster() {
        for (const s of sentinels) {
          if (!s.alive) continue
          return masterOf(s.port, masterName)
        }
        throw new Error('no live sentinel')
      },
      async settled(ms = 30_000) {
        let port = 0
        try {
          await until('a settled sentinel setup', ms, async () => {
            const announced = new Set<number>()
            for (const s of sentinels) announced.add(await masterOf(s.port, masterName))
            if (announced.size !== 1) return false
            port = [...announced][0] ?? 0
            const replica = port === master.port ? rPort : mPort
            const repl = await info(port, 'replication')
            if (!/role:master/.test(repl)) return false
            if (!new RegExp(`slave0:ip=127.0.0.1,port=${replica},state=online`).test(repl)) {
              return false
            }
            for (const s of sentinels) {
              if (!(await replicaHealthy(s.port, masterName, replica))) return false
            }
            const c = nodeClient(port)
            try {
              await c.set('djbtest:settled', '1')
              return (await c.wait(1, 500)) === 1
            } finally {
              c.disconnect()
            }
          })
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${await tails(dir)}`, { cause: err })
        }
        return port
      },
      logs: () => tails(dir),
      async stop() {
        await Promise.all(procs.map((p) => p.kill()))
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await Promise.all(procs.map((p) => p.kill()))
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

async function masterOf(sentinelPort: number, masterName: string): Promise<number> {
  const c = nodeClient(sentinelPort)
  try {
    const addr = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [
      string,
      string,
    ]
    return Number(addr[1])
  } finally {
    c.disconnect()
  }
}

/** The sentinel lists the replica on `port` as up, linked to its master, and seen lately. */
async function replicaHealthy(
  sentinelPort: number,
  masterName: string,
  port: number,
): Promise<boolean> {
  const c = nodeClient(sentinelPort)
  try {
    const replicas = (await c.call('SENTINEL', 'REPLICAS', masterName)) as string[][]
    return replicas.some((flat) => {
      const f = new Map<string, string>()
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i] ?? '', flat[i + 1] ?? '')
      return (
        f.get('port') === String(port) &&
        f.get('flags') === 'slave' &&
        f.get('master-link-status') === 'ok' &&
        Number(f.get('info-refresh') ?? Infinity) < 5_000
      )
    })
  } finally {
    c.disconnect()
  }
}

/** The last lines of every log in the setup's directory, for a failure message. */
async function tails(dir: string): Promise<string> {
  const out: string[] = []
  for (const name of await readdir(dir, { recursive: true })) {
    if (!name.endsWith('.log') && !name.endsWith('/log')) continue
    const text = await readFile(join(dir, name), 'utf8').catch(() => '')
    out.push(`--- ${name}`, ...text.trimEnd().split('\n').slice(-15))
  }
  return out.join('\n')
}

/**
 * The last moments of a primary cut off from its replicas: its replication links are dropped
 * and cannot come back (a password the replicas do not know; connections already open, like the
 * bridge's, stay authenticated), `write` runs and is acknowledged by the primary alone, then the
 * primary is SIGKILLed. What `write` did exists nowhere else, as after a network partition or a
 * crash before the replication stream left the host. Deterministic, unlike killing at random.
 */
export async function isolateThenKill(
  primary: RedisProcess,
  write: () => Promise<unknown>,
): Promise<PromiseSettledResult<unknown>> {
  const c = nodeClient(primary.port)
  try {
    await c.config('SET', 'requirepass', `isolated-${Date.now()}`)
    await c.call('CLIENT', 'KILL', 'TYPE', 'replica')
  } finally {
    c.disconnect()
  }
  const [result] = await Promise.allSettled([write()])
  await primary.kill()
  return result as PromiseSettledResult<unknown>
}
