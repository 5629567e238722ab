/**
 * A logger whose output a test can read: the service's own pino logger (createLogger, with its
 * redaction), writing each JSON record as one string into `lines`.
 */
import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/log.ts'

/**
 * A logger at `level` that appends every record's JSON text to `lines` (a new array unless one
 * is given, so a describe block can keep its own and hand it in).
 */
export function captureLogs(
  level = 'info',
  lines: string[] = [],
): { lines: string[]; logger: Logger } {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { lines, logger: createLogger(level, sink) }
}
