/**
 * docker-compose.yml cannot run here (no Docker engine), so it is read against the wiring that
 * `npm run demo` runs and the browser test proves (scripts/demo/stack.ts): the same variables
 * with the same values where two services must agree, the same ports, healthchecks on every
 * long-running service, start-up order by condition, and build contexts that exist. Values are
 * read the way Compose reads them: YAML merge keys resolved, `${NAME:-default}` at its default.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import {
  DEFAULT_PORTS,
  ROOT,
  demoEnvironment,
  demoOptionsFromEnv,
} from '../../scripts/demo/stack.ts'

interface Service {
  image?: string
  build?: string | { context: string; dockerfile?: string }
  command?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
}

const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')
/** `${NAME:-default}` as Compose reads it with NAME unset; a bare `${NAME}` is refused. */
const interpolate = (value: unknown): unknown => {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_]+)(:-([^}]*))?\}/g, (_m, name: string, _d, fallback) => {
      assert.ok(fallback !== undefined, `\${${name}} has no default: compose up would need it`)
      return String(fallback)
    })
  }
  if (Array.isArray(value)) return value.map(interpolate)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]))
  }
  return value
}
const compose = interpolate(parse(text, { merge: true })) as {
  services: Record<string, Service>
}
const services = compose.services
const service = (name: string): Service => {
  const s = services[name]
  assert.ok(s !== undefined, `docker-compose.yml has no service ${name}`)
  return s
}
const env = (name: string): Record<string, string> => service(name).environment ?? {}

// The npm run demo wiring at its default ports, with a Redis that persists (as compose's does).
const demo = demoEnvironment(demoOptionsFromEnv({}), true)
/** The long-running services and the port each listens on, as `npm run demo` runs them. */
const LISTENING = {
  spa: DEFAULT_PORTS.front,
  django: DEFAULT_PORTS.django,
  bridge: DEFAULT_PORTS.bridge,
  orders: DEFAULT_PORTS.orders,
} as const

describe('docker-compose.yml against the npm run demo wiring', () => {
  it('runs the issue’s stack: Postgres, Redis, Django, the bridge, orders and the SPA', () => {
    for (const name of ['postgres', 'redis', 'django', 'bridge', 'orders', 'spa']) service(name)
    assert.match(service('postgres').image ?? '', /^postgres:/)
    assert.match(service('redis').image ?? '', /^redis:/)
  })

  it('gives Redis AOF and noeviction, which the bridge requires', () => {
    const command = service('redis').command ?? []
    const flag = (name: string) => command[command.indexOf(name) + 1]
    assert.equal(flag('--appendonly'), 'yes')
    assert.equal(flag('--maxmemory-policy'), 'noeviction')
    // So the bridge keeps its default REDIS_REQUIRE_PERSISTENCE=true.
    assert.equal(env('bridge')['REDIS_REQUIRE_PERSISTENCE'], undefined)
  })

  it('gives Django and the bridge the same shared settings as npm run demo', () => {
    for (const [name, value] of Object.entries(demo.shared)) {
      if (name === 'DATABASE_URL') continue // another host; compared between the two below
      assert.equal(env('django')[name], value, `django ${name}`)
      assert.equal(env('bridge')[name], value, `bridge ${name}`)
      assert.equal(env('django-setup')[name], value, `django-setup ${name}`)
    }
    const url = env('bridge')['DATABASE_URL']
    assert.ok(url !== undefined)
    assert.equal(env('django')['DATABASE_URL'], url)
    assert.equal(env('django-setup')['DATABASE_URL'], url)
    assert.equal(env('triggers')['DATABASE_URL'], url, 'triggers go on the same database')
    const pg = env('postgres')
    assert.equal(
      url,
      `postgres://${pg['POSTGRES_USER']}:${pg['POSTGRES_PASSWORD']}@postgres:5432/${pg['POSTGRES_DB']}`,
    )
  })

  it('configures the bridge as npm run demo does, except what Docker places elsewhere', () => {
    const bridge = env('bridge')
    // Paths and hosts inside the containers, and the key step (the CLI in npm run demo; a
    // first-start key in the volume here).
    const elsewhere = new Set([
      'DATABASE_URL',
      'REDIS_URL',
      'KEYS_DIR',
      'KEYS_GENERATE_IF_EMPTY',
      'BRIDGE_SCOPES_FILE',
      'HOST',
    ])
    for (const [name, value] of Object.entries(demo.bridge)) {
      if (elsewhere.has(name)) continue
      assert.equal(bridge[name], value, `bridge ${name}`)
    }
    assert.equal(bridge['REDIS_URL'], 'redis://redis:6379/0')
    assert.ok(
      (service('bridge').volumes ?? []).includes(
        `./examples/scopes.json:${bridge['BRIDGE_SCOPES_FILE']}:ro`,
      ),
      'the scopes file npm run demo uses is mounted where BRIDGE_SCOPES_FILE says',
    )
    assert.ok((service('bridge').volumes ?? []).some((v) => v.endsWith(`:${bridge['KEYS_DIR']}`)))
  })

  it('points orders at the bridge’s issuer, keys, Redis prefix and the SPA’s origin', () => {
    const orders = env('orders')
    const bridge = env('bridge')
    for (const name of ['BRIDGE_ISSUER', 'ORDERS_AUDIENCE', 'REDIS_PREFIX', 'ALLOWED_ORIGINS']) {
      assert.equal(orders[name], demo.orders[name], `orders ${name}`)
    }
    assert.equal(orders['BRIDGE_ISSUER'], bridge['BRIDGE_ISSUER'])
    assert.equal(orders['REDIS_URL'], bridge['REDIS_URL'])
    assert.equal(orders['REDIS_PREFIX'], bridge['REDIS_PREFIX'])
    assert.equal(orders['ORDERS_AUDIENCE'], bridge['BRIDGE_AUDIENCE'])
    assert.equal(orders['JWKS_URI'], `http://bridge:${bridge['PORT']}/.well-known/jwks.json`)
    assert.ok((orders['ALLOWED_ORIGINS'] ?? '').split(',').includes(bridge['BRIDGE_ISSUER'] ?? ''))
  })

  it('has the front route to each service on the port that service listens on', () => {
    const spa = env('spa')
    assert.equal(spa['DJANGO_URL'], `http://django:${LISTENING.django}`)
    assert.equal(spa['BRIDGE_URL'], `http://bridge:${env('bridge')['PORT']}`)
    assert.equal(spa['ORDERS_URL'], `http://orders:${env('orders')['PORT']}`)
    assert.equal(spa['PORT'], String(LISTENING.spa))
    // The browser's origin is the issuer: the port published for the SPA is the issuer's.
    assert.equal(env('bridge')['BRIDGE_ISSUER'], `http://localhost:${LISTENING.spa}`)
  })

  it('publishes the demo’s ports, and Postgres and Redis away from a developer’s own', () => {
    for (const [name, port] of Object.entries(LISTENING)) {
      assert.deepEqual(service(name).ports, [`${port}:${port}`], `${name} ports`)
    }
    assert.equal(env('bridge')['PORT'], String(LISTENING.bridge))
    assert.equal(env('orders')['PORT'], String(LISTENING.orders))
    assert.equal(service('django').command, undefined, 'Django runs its image’s CMD (below)')
    const published = (name: string) => (service(name).ports ?? []).map((p) => p.split(':')[0])
    assert.ok(!published('postgres').includes('5432'), 'not the usual Postgres port')
    assert.ok(!published('redis').includes('6379'), 'not the usual Redis port')
    assert.match(text, /\$\{DEMO_POSTGRES_PORT:-\d+\}:5432/, 'configurable')
    assert.match(text, /\$\{DEMO_REDIS_PORT:-\d+\}:6379/, 'configurable')
    const dockerfile = readFileSync(join(ROOT, 'examples', 'django', 'Dockerfile'), 'utf8')
    assert.match(dockerfile, new RegExp(`runserver", "0\\.0\\.0\\.0:${LISTENING.django}"`))
  })

  it('checks the health of every long-running service, and starts each after what it needs', () => {
    for (const name of ['postgres', 'redis', ...Object.keys(LISTENING)]) {
      assert.ok(service(name).healthcheck?.test.length, `${name} has a healthcheck`)
    }
    const needs: Record<string, Record<string, string>> = {
      'django-setup': { postgres: 'service_healthy' },
      triggers: { 'django-setup': 'service_completed_successfully' },
      django: { 'django-setup': 'service_completed_successfully' },
      bridge: { redis: 'service_healthy', triggers: 'service_completed_successfully' },
      orders: { bridge: 'service_healthy' },
      spa: { django: 'service_healthy', bridge: 'service_healthy', orders: 'service_healthy' },
    }
    for (const [name, deps] of Object.entries(needs)) {
      const actual = Object.fromEntries(
        Object.entries(service(name).depends_on ?? {}).map(([d, c]) => [d, c.condition]),
      )
      assert.deepEqual(actual, deps, `${name} depends_on`)
    }
    // A healthcheck probes the port its service listens on.
    for (const [name, port] of Object.entries(LISTENING)) {
      assert.match(
        (service(name).healthcheck?.test ?? []).join(' '),
        new RegExp(`127\\.0\\.0\\.1:${port}/`),
      )
    }
  })

  it('builds from contexts and Dockerfiles that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build === undefined) {
        assert.ok(s.image, `${name} has an image or a build`)
        continue
      }
      const context = typeof s.build === 'string' ? s.build : s.build.context
      const dockerfile =
        typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile')
      assert.ok(existsSync(join(ROOT, context, dockerfile)), `${name}: ${context}/${dockerfile}`)
    }
    // What the Dockerfiles copy from the repository root is there.
    for (const file of ['Dockerfile', 'examples/orders/Dockerfile', 'examples/spa/Dockerfile']) {
      const dockerfile = readFileSync(join(ROOT, file), 'utf8')
      for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
        for (const source of (m[1] ?? '').split(' ')) {
          assert.ok(existsSync(join(ROOT, source)), `${file}: COPY ${source}`)
        }
      }
    }
  })
})
