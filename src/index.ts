/** Library entry: configuration and the composition of the bridge, for embedding it. */
export { loadConfig, CONFIG_VARIABLES } from './config.ts'
export type { Config } from './config.ts'
export { createBridge } from './bridge.ts'
export type { Bridge, BridgeDeps } from './bridge.ts'
export { loadKeyRing, reloadKeyRing } from './tokens/keys.ts'
export type { KeyRing } from './tokens/keys.ts'
export { createRedisClient } from './store/client.ts'
export { createLogger } from './log.ts'
