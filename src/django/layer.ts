/**
 * The Django layer: everything that reads and writes what Django keeps in Postgres, composed once
 * over one database. The bridge builds its endpoints on it; the interop tests drive it directly
 * against rows real Django wrote, so both use this one composition.
 */
import type { DjangoConfig } from '../config/index.ts'
import type { Logger } from '../log.ts'
import { createDjangoAuth, type DjangoAuth } from './auth.ts'
import type { Database } from './database.ts'
import { createPasswordHashers, type PasswordHashers } from './hashers/index.ts'
import type { SessionCache } from './session-cache.ts'
import { createSessionReader, type SessionReader } from './sessions.ts'
import { createUserRepository, type UserRepository } from './users.ts'
import { createDjangoWriter, type DjangoWriter } from './write.ts'

/** The Django readers and writer over one database. */
export interface DjangoLayer {
  users: UserRepository
  sessions: SessionReader
  hashers: PasswordHashers
  auth: DjangoAuth
  writer: DjangoWriter
}

/** What the layer needs: the database, Django's settings, a clock and the hashing concurrency. */
export interface DjangoLayerDeps {
  db: Database
  config: DjangoConfig
  /** Epoch milliseconds. */
  now: () => number
  /** Password hashes in flight at once (`PASSWORD_HASH_CONCURRENCY`). */
  hashConcurrency: number
  /** Where auth reports a stored hash no enabled hasher reads; default: nowhere. */
  logger?: Pick<Logger, 'warn'>
  /** Django's session cache (DJANGO_CACHE_URL); required with the `cache` engine. */
  sessionCache?: SessionCache | null
}

/**
 * Composes the users repository, session reader, password hashers, Django's auth checks and the
 * writer over `db`. Internal: the library entry (src/index.ts) exports createBridge, not this.
 */
export function createDjangoLayer(deps: DjangoLayerDeps): DjangoLayer {
  const { db, config, now } = deps
  const users = createUserRepository(db, config.users)
  const cache = deps.sessionCache ?? null
  const sessions = createSessionReader({ db, config, cache, now })
  const hashers = createPasswordHashers({
    enabled: config.passwordHashers,
    pbkdf2Iterations: config.pbkdf2Iterations,
    concurrency: deps.hashConcurrency,
  })
  const auth = createDjangoAuth({
    users,
    sessions,
    hashers,
    config,
    now,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  })
  const writer = createDjangoWriter({ db, users, hashers, config, cache, now })
  return { users, sessions, hashers, auth, writer }
}
