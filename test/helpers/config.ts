/**
 * The least environment loadConfig() accepts, for tests of one setting: each adds the variables
 * it is about. Nothing connects to these addresses.
 */
export const MINIMAL_ENV: Readonly<Record<string, string>> = {
  DJANGO_SECRET_KEY: 'k',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
}
