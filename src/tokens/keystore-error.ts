/** The one error the key store raises, whichever of its modules finds the problem. */
import { BridgeError, type BridgeErrorOptions } from '../errors.ts'

/** The key store on disk is missing, unreadable or inconsistent. Messages say how to fix it. */
export class KeyStoreError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super('KEYS_INVALID', message, 500, options)
  }
}
