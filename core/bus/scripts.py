"""Lua scripts: each one is a step that must happen atomically inside Redis.

Fencing: every script that records an effect takes the partition lease key and the caller's
token; a worker whose lease expired (a paused or partitioned process) gets ``LEASE_LOST`` and
changes nothing, so only the current owner of a partition can reply, record or acknowledge.
"""

from __future__ import annotations

# KEYS: queue, then (idem key, ingress stream, user queue) per submission | ARGV: ttl_s, now_ms,
#       then (request_id, conversation_id, body) per submission
# -> per submission {created 1|0, entry id | request id, place in the queue, the user's requests}
# The queue (and one per user) holds every accepted, unfinished request, scored by when it was
# accepted: a request's place in it is what admission control tells a user (FINISH removes it).
SUBMIT = """
local ttl = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl * 1000)
local out = {}
for i = 2, #KEYS, 3 do
  local a = 3 + (i - 2) / 3 * 3
  local existing = redis.call('GET', KEYS[i])
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
    out[#out + 1] = 0
    out[#out + 1] = 0
  else
    redis.call('SET', KEYS[i], ARGV[a], 'EX', ttl)
    out[#out + 1] = 1
    out[#out + 1] = redis.call('XADD', KEYS[i + 1], '*', 'conversation_id', ARGV[a + 1],
                               'request_id', ARGV[a], 'body', ARGV[a + 2])
    redis.call('ZADD', KEYS[1], now, ARGV[a])
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('ZREMRANGEBYSCORE', KEYS[i + 2], '-inf', now - ttl * 1000)
    redis.call('ZADD', KEYS[i + 2], now, ARGV[a])
    redis.call('EXPIRE', KEYS[i + 2], ttl)
    out[#out + 1] = redis.call('ZCARD', KEYS[1])
    out[#out + 1] = redis.call('ZCARD', KEYS[i + 2])
  end
end
return out
"""

# KEYS: lease | ARGV: token, then request ids | -> per id: {counted deliveries, status}
# Deliveries are counted when they start (a worker that crashes mid-request cannot count its
# own); a delivery that ended because its worker lost the lease while alive (slowness, not a
# failure) is forgiven by FORGIVE, so only deliveries that failed or crashed count.
BEGIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
local ttl = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do
  local key = ARGV[i]
  local status = redis.call('HGET', key, 'status')
  local attempts = 0
  if status ~= 'done' and status ~= 'dead' then
    attempts = redis.call('HINCRBY', key, 'attempts', 1)
    attempts = attempts - tonumber(redis.call('HGET', key, 'forgiven') or '0')
    redis.call('EXPIRE', key, ttl)
  end
  out[#out + 1] = attempts
  out[#out + 1] = status or ''
end
return out
"""

# KEYS: request keys | ARGV: ttl_s. Not fenced: it only says "that delivery did not fail".
FORGIVE = """
for i = 1, #KEYS do
  local status = redis.call('HGET', KEYS[i], 'status')
  if status ~= 'done' and status ~= 'dead' and redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('HINCRBY', KEYS[i], 'forgiven', 1)
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1]))
  end
end
return #KEYS
"""

# KEYS: lease, ingress stream, queue | ARGV: token, group, status, user queue prefix, then
#       (request key, entry id, request id, user) per request; request key '' for an entry that
#       is no request (malformed) or was finished before
FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
local n = 0
for i = 5, #ARGV, 4 do
  if ARGV[i] ~= '' then redis.call('HSET', ARGV[i], 'status', ARGV[3]) end
  if ARGV[i + 2] ~= '' then
    redis.call('ZREM', KEYS[3], ARGV[i + 2])
    redis.call('ZREM', ARGV[4] .. ARGV[i + 3], ARGV[i + 2])
  end
  n = n + redis.call('XACK', KEYS[2], ARGV[2], ARGV[i + 1])
end
return n
"""

# KEYS: lease, request key, event stream, watchers, changes | ARGV: token, field, maxlen,
#       retention_s, now_ms, client prefix, instance prefix, type, body, changes maxlen
#       -> the event's stream id
EMIT = """
if KEYS[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('LEASE_LOST')
end
if ARGV[2] ~= '' then
  local seen = redis.call('HGET', KEYS[2], ARGV[2])
  if seen then return seen end
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', tonumber(ARGV[3]), '*',
                      'type', ARGV[8], 'body', ARGV[9])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
redis.call('XADD', KEYS[5], 'MAXLEN', '~', tonumber(ARGV[10]), '*', 's', KEYS[3])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[5])
local clients = redis.call('ZRANGE', KEYS[4], 0, -1)
local sent = {}
for _, client in ipairs(clients) do
  local instance = redis.call('GET', ARGV[6] .. client)
  if instance and not sent[instance] then
    sent[instance] = true
    redis.call('PUBLISH', ARGV[7] .. instance, id .. '\\n' .. ARGV[9])
  end
end
return id
"""

# KEYS: lease, request key | ARGV: token, field, value -> 1 recorded
RECORD = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: lease, lease owner | ARGV: token, ttl_ms -> 1 acquired, 0 taken
# The owner key remembers who acquired the lease last (it outlives the lease).
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then
  redis.call('SET', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

# KEYS: lease, lease owner | ARGV: token, ttl_ms -> 1 renewed, 2 revived, 0 lost
# A lease that expired while nobody else took it (the owner key still names us) is taken back
# with the same token: no one else owned the partition in between, so nothing was claimed from
# us and our in-flight work is still the partition's only work.
RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
if not current and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 2
end
return 0
"""

# KEYS: lease, lease owner | ARGV: token
RELEASE = """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
