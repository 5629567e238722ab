/**
 * The store's Lua scripts. ioredis runs them with EVALSHA and falls back to EVAL on NOSCRIPT
 * (after a restart or SCRIPT FLUSH). Each script touches the keys of ONE hash slot only, so
 * they are valid on Redis Cluster. Times are epoch ms and every expiry is PEXPIRE (ms); numbers
 * are written with string.format('%d') because Lua 5.1 numbers are doubles and the default
 * conversion could print 13-digit timestamps in exponent form.
 */

/** Field names of the family hash, shared by the scripts and the TypeScript parser. */
export const FAMILY_FIELDS = [
  'uid', // user id
  'sk', // Django session key (absent when null)
  'ah', // session auth hash (absent when null)
  'at', // auth_time as given
  'gen', // generation: 0 at creation, +1 per rotation
  'ca', // created at, ms
  'exp', // absolute expiry, ms
  'iexp', // idle expiry, ms
] as const

/**
 * KEYS[1] family hash, KEYS[2] the user's family index (set), KEYS[3] the user's not-before; all
 * three are {userId}-tagged. ARGV[1] family TTL ms, ARGV[2] family id, ARGV[3] family absolute
 * lifetime ms, ARGV[4] cap on the user's live families (0: none), ARGV[5] the key prefix of the
 * user's families (`P fam:{<userId>}:`), ARGV[6..] field/value pairs.
 * Returns {0} (and writes nothing) if the family exists: ids are random, a collision is a bug.
 * Otherwise {1, evicted ids...}.
 *
 * Bounded state: the index drops ids whose family has expired (Redis dropped the hash, but a set
 * member has no TTL of its own, so an active user's index would otherwise only grow), and when
 * the user already has `cap` live families the least recently used ones (by last rotation, or
 * creation if never rotated) are deleted so that the new one makes `cap`. Not by idle expiry:
 * a new family's first-use expiry is short, so it would go before long-abandoned ones. The caller publishes their
 * revocations. The scan reads the user's other family hashes by name: they are not in KEYS,
 * but share the {userId} tag, so this stays one slot on Redis Cluster. Its cost is O(families
 * of the user), which the cap bounds.
 *
 * Keeps the index, and a not-before if one exists, alive at least as long as the new family:
 * the not-before must outlive any family that may have raced a logout-everywhere.
 */
export const CREATE_FAMILY = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local out = {1}
local cap = tonumber(ARGV[4])
if cap > 0 then
  local live = {}
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    -- The same escape as keys.ts tag(): % { } become %XX.
    local key = ARGV[5] .. (string.gsub(id, '[%%{}]', function(c) return string.format('%%%02X', string.byte(c)) end))
    local f = redis.call('HMGET', key, 'ca', 'rat')
    if f[1] then
      table.insert(live, {id = id, key = key, used = tonumber(f[2] or f[1])})
    else
      redis.call('SREM', KEYS[2], id)
    end
  end
  if #live >= cap then
    table.sort(live, function(a, b) return a.used < b.used end)
    for i = 1, #live - cap + 1 do
      redis.call('DEL', live[i].key)
      redis.call('SREM', KEYS[2], live[i].id)
      table.insert(out, live[i].id)
    end
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
local n = redis.call('PTTL', KEYS[3])
if n > 0 and n < ttl then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
return out
`

/**
 * The rotation decision, atomically. KEYS[1] family hash, KEYS[2] the user's family index.
 * ARGV[1] presented jti, ARGV[2] next jti, ARGV[3] sealed successor (bytes),
 * ARGV[4] refresh TTL ms, ARGV[5] grace ms, ARGV[6] now ms, ARGV[7] family id,
 * ARGV[8] retry window ms.
 * Reply: {outcome, uid, sk, ah, at, gen, ca, exp, iexp[, successor]}; sk/ah are nil when null.
 *
 * Ordering is by jti pointers ('cur' = the one live token, 'prev' = its immediate predecessor)
 * and the rotation time in ms, never by iat seconds: two rotations inside one second must still
 * make the older token a reuse (Keycloak #50999).
 *
 * Re-delivery. When the presented token is 'prev', its successor has never been used (using it
 * would have moved 'prev'), so the request may be a retry whose answer was lost: a 503 after
 * the bridge's Redis timeout while Redis still ran this script, or a dropped connection. Such a
 * retry gets the stored successor again, not a reuse verdict:
 * - within the grace window (ARGV[5]) always: concurrent tabs racing with one token;
 * - within the longer retry window (ARGV[8]) only while 'prev' has been handed out once.
 *   'cdup' = 1 records that the current token was delivered more than once (any re-delivery),
 *   and a rotation moves it to 'pdup'. Without that mark a thief replaying a stolen
 *   predecessor and the real client would share one chain forever, each re-presenting the
 *   token the other had just rotated; with it the chain may fork once, and the second
 *   presentation of a forked token outside the grace window is a reuse (detected at the next
 *   rotation instead of this one).
 * The windows are measured from 'rat', the time the rotating request was sent, so a rotation
 * Redis ran late (paused server) only ever makes them shorter.
 */
export const ROTATE = `
local function int(n) return string.format('%d', n) end
local f = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'rat', 'uid', 'sk', 'ah', 'at', 'gen', 'ca', 'exp', 'iexp', 'cdup', 'pdup')
if not f[1] then return {'missing'} end
local now = tonumber(ARGV[6])
local exp = tonumber(f[10])
-- Past its idle or absolute expiry by the caller's clock: as good as gone. Redis drops the key
-- on its own clock; not deleting here keeps one node's skewed clock from destroying state.
if now >= exp or now >= tonumber(f[11]) then return {'missing'} end

if f[1] == ARGV[1] then
  local gen = tonumber(f[8]) + 1
  -- Idle expiry restarts, but never beyond the absolute expiry fixed at creation.
  local iexp = math.min(now + tonumber(ARGV[4]), exp)
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'rat', ARGV[6], 'gen', int(gen), 'iexp', int(iexp), 'succ', ARGV[3], 'pdup', f[12] or '0', 'cdup', '0')
  redis.call('PEXPIRE', KEYS[1], int(iexp - now))
  return {'rotated', f[4], f[5], f[6], f[7], int(gen), f[9], f[10], int(iexp)}
end

-- Only the immediate predecessor (Auth0: "only the previous token can be reused"). A
-- grandparent is reuse whatever the windows (E4, django-oauth-toolkit #1617).
if f[2] and f[2] == ARGV[1] then
  local since = now - tonumber(f[3])
  local grace = tonumber(ARGV[5])
  local retry = tonumber(ARGV[8])
  if (grace > 0 and since <= grace) or (f[13] ~= '1' and retry > 0 and since <= retry) then
    local succ = redis.call('HGET', KEYS[1], 'succ')
    if succ then
      redis.call('HSET', KEYS[1], 'cdup', '1')
      return {'grace', f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], succ}
    end
  end
end

-- Anything else is replay of a consumed token: destroy the family (RFC 9700 §4.14.2).
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[7])
return {'reuse', f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]}
`

/**
 * KEYS[1] family hash, KEYS[2] the user's family index. ARGV[1] family id.
 * Deletes the family and its index entry; returns the owner's id, or nil when it did not exist.
 */
export const DELETE_FAMILY = `
local uid = redis.call('HGET', KEYS[1], 'uid')
if uid then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
return uid
`

/**
 * Logout everywhere, first step. KEYS[1] not-before, KEYS[2] family index.
 * ARGV[1] now ms, ARGV[2] minimum not-before TTL ms (access-token lifetime + leeway).
 * Sets not-before = max(old, now) and a TTL that covers both the access tokens and every
 * indexed family's remaining lifetime. Returns {notBefore, familyIds...}. The index is NOT
 * touched here: the caller then deletes each family with DELETE_FAMILY, which drops its index
 * entry, so a failure in between leaves the rest indexed for a retry.
 */
export const REVOKE_USER = `
local function int(n) return string.format('%d', n) end
local now = tonumber(ARGV[1])
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
local nbf = math.max(old, now)
local ttl = math.max(tonumber(ARGV[2]), redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2]))
redis.call('SET', KEYS[1], int(nbf), 'PX', int(ttl))
local out = redis.call('SMEMBERS', KEYS[2])
table.insert(out, 1, int(nbf))
return out
`

/**
 * Publish a revocation and keep it in the snapshot. KEYS[1] the snapshot sorted set
 * (`<prefix>revocations`). ARGV[1] channel (same name), ARGV[2] JSON message, ARGV[3] its exp
 * (unix s), ARGV[4] now (unix s), ARGV[5] now ms, ARGV[6] `shard` (SPUBLISH, on a Cluster) or
 * `all` (PUBLISH).
 * Prunes entries already past exp, so the snapshot stays bounded, and lets the key itself
 * expire with its latest entry. The shard channel has the key's name, hence its slot, so this
 * stays one-slot either way.
 */
export const PUBLISH_REVOCATION = `
local function int(n) return string.format('%d', n) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = tonumber(top[2]) * 1000 - tonumber(ARGV[5])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], int(ttl)) end
if ARGV[6] == 'shard' then
  redis.call('SPUBLISH', ARGV[1], ARGV[2])
else
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return 1
`

/**
 * Fixed-window counter. KEYS[1] counter. ARGV[1] window ms.
 * PEXPIRE NX: only the first hit starts the window (and a counter that somehow lost its TTL
 * gets one again). Returns {count, pttl ms}.
 */
export const THROTTLE_HIT = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {n, redis.call('PTTL', KEYS[1])}
`

/**
 * Reserve one attempt on a fixed-window counter, before the work it limits. KEYS[1] counter.
 * ARGV[1] window ms, ARGV[2] limit. Reply {granted (1/0), count, pttl ms}.
 *
 * The check and the increment are one script: two requests can never both see count = limit - 1
 * and both proceed, however many arrive at once (issue 17, 30 parallel guesses all checked).
 * A refused attempt does not count, so the counter never exceeds the limit and the window is
 * never moved by refusals. A counter that somehow lost its TTL gets one again, in either branch,
 * so a lock-out always ends.
 */
export const THROTTLE_RESERVE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
  return {0, n, redis.call('PTTL', KEYS[1])}
end
n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {1, n, redis.call('PTTL', KEYS[1])}
`

/**
 * Give back one reserved attempt. KEYS[1] counter. Returns the count before.
 * Never creates the counter and never takes it below zero: a release after the window ended
 * (the key expired) is a no-op, and the last reservation deletes the key rather than leaving a
 * 0 that a later reservation would count from with the old window.
 */
export const THROTTLE_RELEASE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then redis.call('DECR', KEYS[1]) elseif n == 1 then redis.call('DEL', KEYS[1]) end
return n
`

/** KEYS[1] counter. Returns {count or nil, pttl ms}. */
export const THROTTLE_PEEK = `
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
`
