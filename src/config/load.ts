/**
 * The only module that reads `process.env`. Each variable is read once, at start, by its entry
 * in the table; the first bad one stops the service with a ConfigError that names it and says
 * what to do. The result is frozen and passed down.
 */
import { ConfigError } from '../errors.ts'
import {
  KEY_VARIABLES,
  TRIGGER_VARIABLES,
  toConfig,
  toKeyConfig,
  toTriggerConfig,
  type Config,
  type KeyConfig,
  type TriggerConfig,
} from './shape.ts'
import {
  VARIABLES,
  isVariableName,
  type ParsedEnv,
  type Variable,
  type VariableName,
} from './variables.ts'

/** Environment variables by name, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>

/**
 * Parses the named variables in order, and any that a default refers to (`$PORT`).
 * Throws ConfigError naming the first bad one.
 */
export function parseVariables<K extends VariableName>(
  env: Environment,
  names: readonly K[],
): Pick<ParsedEnv, K> {
  const parsed = new Map<VariableName, unknown>()
  const read = (name: VariableName): unknown => {
    if (!parsed.has(name)) parsed.set(name, parseOne(env, name, read))
    return parsed.get(name)
  }
  for (const name of names) read(name)
  // Each value came from VARIABLES[name].parse, whose return type ParsedEnv[name] is.
  return Object.fromEntries(parsed) as Pick<ParsedEnv, K>
}

function parseOne(env: Environment, name: VariableName, read: (n: VariableName) => unknown) {
  const v: Variable<unknown> = VARIABLES[name]
  const fail = (problem: string) =>
    new ConfigError(name, v.hint === undefined ? problem : `${problem} ${v.hint}`)
  const set = env[name]?.trim()
  const text =
    set === undefined || (set === '' && v.allowEmpty !== true)
      ? v.default?.replace(/\$([A-Z0-9_]+)/g, (ref: string, other: string) =>
          isVariableName(other) ? String(read(other)) : ref,
        )
      : set
  if (text === undefined) throw fail('is required.')
  return v.parse(text, fail)
}

const ALL = Object.keys(VARIABLES).filter(isVariableName)

/** Parses and validates the environment once. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Environment = process.env): Readonly<Config> {
  return deepFreeze(toConfig(parseVariables(env, ALL)))
}

/**
 * The subset the key CLI needs. It validates the same variables the same way, without requiring
 * the database and Redis settings that key management does not use.
 */
export function loadKeyConfig(env: Environment = process.env): Readonly<KeyConfig> {
  return Object.freeze(toKeyConfig(parseVariables(env, KEY_VARIABLES)))
}

/** The subset the triggers CLI needs (no secret key, Redis or keys settings). */
export function loadTriggerConfig(env: Environment = process.env): Readonly<TriggerConfig> {
  return deepFreeze(toTriggerConfig(parseVariables(env, TRIGGER_VARIABLES)))
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v)
  return Object.freeze(o)
}
