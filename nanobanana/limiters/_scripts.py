"""The Redis side of ``RedisRateLimiter``: key names and the three Lua scripts.

Every operation is one script, so each runs atomically on the server (no
check-then-set race between processes), and every time is Redis's own ``TIME``: the
clocks of the machines running the clients never enter the arithmetic.

Data, per API key (``fp`` is ``key_fingerprint(api_key)``, a hash, never the key)::

    <namespace>:ratelimit:{<fp>}:slots   sorted set: member = a random token per request,
                                         score = when that slot frees (Redis ms)
    <namespace>:ratelimit:{<fp>}:pause   present while the budget is paused (after a 429)

A slot is taken with score ``now + lease`` (the request is in flight; the lease frees it
if its process dies) and, when the answer arrives, rescored to ``now + window + margin``;
a request that was never sent removes its slot. Scores at or before ``now`` are free.
Both keys carry a TTL, so an idle budget leaves nothing behind. The braces are a Redis
Cluster hash tag: both keys of a budget live on the same shard.
"""

from __future__ import annotations

import math

__all__ = [
    "ACQUIRE",
    "PAUSE",
    "RELEASE",
    "key_names",
    "to_ms",
]

_TIME = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
"""

ACQUIRE = (
    _TIME
    + """
-- KEYS: slots, pause. ARGV: limit, lease_ms, token, ttl_ms.
-- Returns {1, 0} when the slot is taken, else {0, ms to wait before asking again}.
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
  return {0, paused}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, 0}
end
local head = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, math.max(1, math.ceil(tonumber(head[2]) - now))}
"""
)

RELEASE = (
    _TIME
    + """
-- KEYS: slots. ARGV: token, hold_ms, ttl_ms, sent ('1' or '0').
-- Sent: the slot frees hold_ms from now (re-added if its lease had run out, which only
-- makes the budget stricter). Not sent: the slot frees at once.
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
"""
)

PAUSE = """
-- KEYS: pause. ARGV: ms. Extends the pause to ms from now; never shortens it.
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 1
"""


def key_names(namespace: str, fingerprint: str) -> tuple[str, str]:
    """The (slots, pause) keys of one API key's budget."""
    base = f"{namespace}:ratelimit:{{{fingerprint}}}"
    return f"{base}:slots", f"{base}:pause"


def to_ms(seconds: float) -> int:
    """Whole milliseconds, rounded up (so a wait or a hold is never shortened)."""
    return max(1, math.ceil(seconds * 1000))
