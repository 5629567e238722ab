/** The one error the key store raises, whichever of its modules finds the problem. */
import { InternalError, type BridgeErrorOptions } from '../errors.ts'

/** The key store on disk is missing, unreadable or inconsistent. Messages say how to fix it. */
export class KeyStoreError extends InternalError {
  declare readonly code: 'KEYS_INVALID'
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super('KEYS_INVALID', message, options)
  }
}
