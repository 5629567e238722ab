/**
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of the key, or of its `{hash tag}`, mod
 * 16384), as the cluster spec defines it. The store uses it to pick a probe key owned by each
 * master, so readiness exercises every shard; it is checked against `CLUSTER KEYSLOT` in
 * test/store/cluster.test.ts.
 */

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let c = i << 8
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
  TABLE[i] = c
}

/** Number of hash slots in a Redis Cluster. */
export const SLOTS = 16384

function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ b) & 0xff] ?? 0)
  return crc
}

/** The slot Redis Cluster assigns to `key`. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    // An empty tag `{}` does not count: the whole key is hashed.
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  return crc16(Buffer.from(key, 'utf8')) % SLOTS
}
