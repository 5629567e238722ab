/**
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of the key or its `{hash tag}`, mod 16384),
 * to find the shard that carries the revocation channel. A copy of the bridge's
 * src/store/slot.ts: the verifier depends on nothing.
 */

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let c = i << 8
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
  TABLE[i] = c
}

/** The slot Redis Cluster assigns to `key`. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    // An empty tag `{}` does not count: the whole key is hashed.
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  let crc = 0
  for (const b of Buffer.from(key, 'utf8')) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ b) & 0xff] ?? 0)
  }
  return crc % 16384
}
