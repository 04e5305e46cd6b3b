"""Lua scripts: each one is a step that must happen atomically inside Redis.

Fencing: every script that records an effect takes the partition lease key and the caller's
token; a worker whose lease expired (a paused or partitioned process) gets ``LEASE_LOST`` and
changes nothing, so only the current owner of a partition can reply, record or acknowledge.
"""

from __future__ import annotations

# KEYS: (idem key, ingress stream) per submission | ARGV: ttl_s, then (request_id,
#       conversation_id, body) per submission -> per submission {created 1|0, entry id | request id}
SUBMIT = """
local ttl = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS, 2 do
  local a = 2 + (i - 1) / 2 * 3
  local existing = redis.call('GET', KEYS[i])
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
  else
    redis.call('SET', KEYS[i], ARGV[a], 'EX', ttl)
    out[#out + 1] = 1
    out[#out + 1] = redis.call('XADD', KEYS[i + 1], '*', 'conversation_id', ARGV[a + 1],
                               'request_id', ARGV[a], 'body', ARGV[a + 2])
  end
end
return out
"""

# KEYS: lease | ARGV: token, then request ids | -> per id: {attempts, status}
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
    redis.call('EXPIRE', key, ttl)
  end
  out[#out + 1] = attempts
  out[#out + 1] = status or ''
end
return out
"""

# KEYS: lease, ingress stream | ARGV: token, group, status, then (request key, entry id) pairs
FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
local n = 0
for i = 4, #ARGV, 2 do
  if ARGV[i] ~= '' then redis.call('HSET', ARGV[i], 'status', ARGV[3]) end
  n = n + redis.call('XACK', KEYS[2], ARGV[2], ARGV[i + 1])
end
return n
"""

# KEYS: lease, request key, event stream, watchers | ARGV: token, field, maxlen, retention_s,
#       now_ms, client prefix, instance prefix, type, body -> the event's stream id
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

# KEYS: lease | ARGV: token, ttl_ms
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 0
"""

# KEYS: lease | ARGV: token
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
