/**
 * Structured logging (pino). Secrets never reach a log line: known secret-bearing fields are
 * redacted by path as a second line of defence, but the rule is that callers log ids (family id,
 * user id, request id), never tokens, cookies, passwords or keys.
 */
import { pino, type Logger } from 'pino'

export type { Logger }

const REDACT = [
  'password',
  'token',
  'refresh_token',
  'access_token',
  'subject_token',
  'cookie',
  'authorization',
  'secret',
  'key',
  '*.password',
  '*.token',
  '*.refresh_token',
  '*.access_token',
  '*.subject_token',
  '*.cookie',
  '*.authorization',
  '*.secret',
  'req.headers.cookie',
  'req.headers.authorization',
]

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'django-jwt-bridge' },
    redact: { paths: REDACT, censor: '[redacted]' },
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
