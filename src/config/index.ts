/**
 * Configuration: every environment variable, read once at start into a frozen, typed `Config`.
 * One table (variables.ts) gives each variable's default, parser and documentation.
 */
export { loadConfig, loadKeyConfig, loadTriggerConfig, type Environment } from './load.ts'
export type { Config, DjangoConfig, KeyConfig, TriggerConfig, UserTableConfig } from './shape.ts'
export type { RedisTargetConfig, RedisWaitConfig } from './redis.ts'
export { CONFIG_VARIABLES, VARIABLES, type Variable, type VariableDoc } from './variables.ts'
export * from './domains.ts'
