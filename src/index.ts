/** Library entry: the configuration loader and the app factory for embedding the bridge. */
export { loadConfig, CONFIG_VARIABLES } from './config.ts'
export type { Config } from './config.ts'
