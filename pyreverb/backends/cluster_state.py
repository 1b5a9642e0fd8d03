"""Cluster-wide channel and presence state in Redis, changed only by atomic Lua scripts.

Layout (``P`` is the scaling channel name, so clusters sharing a Redis stay apart)::

    P:nodes                   SET   ids of registered nodes
    P:alive:<node>            STR   heartbeat; expires after the node TTL
    P:node:<node>             HASH  what the node contributed, so it can be undone:
                                    "s\\x1f<app>\\x1f<channel>"           -> subscriptions
                                    "p\\x1f<app>\\x1f<channel>\\x1f<socket>" -> presence user id
    P:subs:<app>              HASH  channel -> subscriptions on every node
    P:users:<app>:<channel>   HASH  presence user id -> sockets on every node
    P:members:<app>:<channel> HASH  presence user id -> user_info (JSON)

Each change (join, leave, reap a dead node, re-announce after an outage) is one
script, so "first socket of a user anywhere" and "last socket anywhere" are
decided exactly once even when nodes race.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from pyreverb.backends.base import ChannelStats, PresenceChange
from pyreverb.hub import AnyHub
from pyreverb.protocol.channels import ChannelKind, channel_kind

__all__ = ["RedisScripts", "Snapshot", "snapshot_of"]

SEP = "\x1f"

_LUA_HELPERS = """
local function split(s)
  local parts = {}
  for part in string.gmatch(s, '[^\\031]+') do parts[#parts + 1] = part end
  return parts
end
local function decr(key, fieldname, by)
  local left = redis.call('HINCRBY', key, fieldname, -by)
  if left <= 0 then redis.call('HDEL', key, fieldname) end
  return left
end
-- one presence socket of user went away; note the user in gone when it was the last anywhere
local function drop_socket(P, app, channel, user, gone)
  local scope = app .. ':' .. channel
  if decr(P .. ':users:' .. scope, user, 1) <= 0 then
    redis.call('HDEL', P .. ':members:' .. scope, user)
    gone[#gone + 1] = app
    gone[#gone + 1] = channel
    gone[#gone + 1] = user
  end
end
"""

# KEYS: node hash, subs hash, members hash, users hash
# ARGV: presence field, subscription field, channel, user id, user_info JSON
_JOIN = """
local first, occupied = 0, 0
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[4]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then occupied = 1 end
  if redis.call('HINCRBY', KEYS[4], ARGV[4], 1) == 1 then first = 1 end
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
end
return {first, occupied, redis.call('HGETALL', KEYS[3])}
"""

# KEYS and ARGV as _JOIN (only the first three ARGV)
_LEAVE = (
    _LUA_HELPERS
    + """
local user = redis.call('HGET', KEYS[1], ARGV[1])
if not user then return {0, 0} end
redis.call('HDEL', KEYS[1], ARGV[1])
local last, vacated = 0, 0
decr(KEYS[1], ARGV[2], 1)
if decr(KEYS[2], ARGV[3], 1) <= 0 then vacated = 1 end
if decr(KEYS[4], user, 1) <= 0 then
  redis.call('HDEL', KEYS[3], user)
  last = 1
end
return {last, vacated}
"""
)

# KEYS: node hash, subs hash; ARGV: subscription field, channel, +1 or -1
# Returns the channel's cluster-wide subscription count, or -1 when nothing changed.
_COUNT = """
local delta = tonumber(ARGV[3])
if delta < 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], delta) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local total = redis.call('HINCRBY', KEYS[2], ARGV[2], delta)
if total <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return total
"""

# Undo everything one node contributed. ARGV: prefix, node id, "1" = only if its
# heartbeat expired and nobody reaped it yet. Returns {app, channel, user, ...}
# for every presence member whose last socket anywhere was on that node.
_REAP = (
    _LUA_HELPERS
    + """
local P, node = ARGV[1], ARGV[2]
if ARGV[3] == '1' then
  if redis.call('EXISTS', P .. ':alive:' .. node) == 1 then return {} end
  if redis.call('SREM', P .. ':nodes', node) == 0 then return {} end
else
  redis.call('SREM', P .. ':nodes', node)
  redis.call('DEL', P .. ':alive:' .. node)
end
local removed = {}
local nkey = P .. ':node:' .. node
local entries = redis.call('HGETALL', nkey)
for i = 1, #entries, 2 do
  local parts = split(entries[i])
  if parts[1] == 's' then
    decr(P .. ':subs:' .. parts[2], parts[3], tonumber(entries[i + 1]))
  elseif parts[1] == 'p' then
    drop_socket(P, parts[2], parts[3], entries[i + 1], removed)
  end
end
redis.call('DEL', nkey)
return removed
"""
)

# Make the shared state say exactly what this node's hub says (after an outage,
# a Redis restart, or being reaped by mistake). ARGV: prefix, node id, TTL ms,
# snapshot JSON {"s": {field: count}, "p": {field: [user, info]}}.
# Returns {{app, channel, user, info, ...} joined, {app, channel, user, ...} left}.
_RESYNC = (
    _LUA_HELPERS
    + """
local P, node = ARGV[1], ARGV[2]
local snap = cjson.decode(ARGV[4])
local nkey = P .. ':node:' .. node
redis.call('SET', P .. ':alive:' .. node, '1', 'PX', ARGV[3])
redis.call('SADD', P .. ':nodes', node)
local old_s, old_p = {}, {}
local entries = redis.call('HGETALL', nkey)
for i = 1, #entries, 2 do
  local f = entries[i]
  if string.sub(f, 1, 1) == 's' then old_s[f] = tonumber(entries[i + 1]) else old_p[f] = entries[i + 1] end
end
for f, n in pairs(snap.s) do
  local parts = split(f)
  local delta = n - (old_s[f] or 0)
  if delta ~= 0 then decr(P .. ':subs:' .. parts[2], parts[3], -delta) end
  redis.call('HSET', nkey, f, n)
  old_s[f] = nil
end
for f, n in pairs(old_s) do
  local parts = split(f)
  decr(P .. ':subs:' .. parts[2], parts[3], n)
  redis.call('HDEL', nkey, f)
end
local joined, left = {}, {}
for f, entry in pairs(snap.p) do
  local parts = split(f)
  local scope = parts[2] .. ':' .. parts[3]
  local user, info = entry[1], entry[2]
  redis.call('HSET', P .. ':members:' .. scope, user, info)
  if old_p[f] ~= user then
    redis.call('HSET', nkey, f, user)
    if redis.call('HINCRBY', P .. ':users:' .. scope, user, 1) == 1 then
      joined[#joined + 1] = parts[2]
      joined[#joined + 1] = parts[3]
      joined[#joined + 1] = user
      joined[#joined + 1] = info
    end
  end
end
for f, user in pairs(old_p) do
  local now = snap.p[f]
  if now == nil or now[1] ~= user then
    if now == nil then redis.call('HDEL', nkey, f) end
    local parts = split(f)
    drop_socket(P, parts[2], parts[3], user, left)
  end
end
return {joined, left}
"""
)

# ARGV: prefix, node id, TTL ms. Returns {1 if this node had been reaped, {dead node ids}}.
_HEARTBEAT = """
local P, node = ARGV[1], ARGV[2]
redis.call('SET', P .. ':alive:' .. node, '1', 'PX', ARGV[3])
local reaped = redis.call('SADD', P .. ':nodes', node)
local dead = {}
for _, other in ipairs(redis.call('SMEMBERS', P .. ':nodes')) do
  if redis.call('EXISTS', P .. ':alive:' .. other) == 0 then dead[#dead + 1] = other end
end
return {reaped, dead}
"""


@dataclass(slots=True)
class Snapshot:
    """One node's local state in the shape of its ``P:node:<node>`` hash."""

    subscriptions: dict[str, int] = field(default_factory=dict)
    presence: dict[str, tuple[str, str]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        # cjson decodes {} as an empty table, so empty maps are fine.
        return orjson.dumps({"s": self.subscriptions, "p": self.presence})


def _s_field(app_id: str, channel: str) -> str:
    return f"s{SEP}{app_id}{SEP}{channel}"


def _p_field(app_id: str, channel: str, socket_id: str) -> str:
    return f"p{SEP}{app_id}{SEP}{channel}{SEP}{socket_id}"


def _info_json(info: Any) -> str:
    return orjson.dumps(info).decode()


def snapshot_of(hub: AnyHub) -> Snapshot:
    snap = Snapshot()
    for app_id in hub.app_ids():
        for name, channel in hub.channels(app_id).items():
            if not channel.subscribers:
                continue
            snap.subscriptions[_s_field(app_id, name)] = len(channel.subscribers)
            if channel.kind is not ChannelKind.PRESENCE:
                continue
            for user_id, sockets in channel.user_sockets.items():
                member = channel.members.get(user_id)
                info = _info_json(member.user_info if member else None)
                for socket_id in sockets:
                    snap.presence[_p_field(app_id, name, socket_id)] = (user_id, info)
    return snap


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _members(flat: list[bytes]) -> dict[str, Any]:
    return {_text(flat[i]): orjson.loads(flat[i + 1]) for i in range(0, len(flat), 2)}


def _changes(flat: list[bytes], joined: bool) -> list[PresenceChange]:
    """Members from a script's flat answer: app, channel, user (and user_info when joined)."""
    width = 4 if joined else 3
    out = []
    for i in range(0, len(flat), width):
        info = orjson.loads(flat[i + 3]) if joined else None
        out.append(PresenceChange(_text(flat[i]), _text(flat[i + 1]), _text(flat[i + 2]), info, joined))
    return out


class RedisScripts:
    """This node's reads and atomic writes of the shared state in Redis."""

    def __init__(self, redis: Redis, prefix: str, node_id: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.node_id = node_id
        self._node_key = f"{prefix}:node:{node_id}"
        self._join = redis.register_script(_JOIN)
        self._leave = redis.register_script(_LEAVE)
        self._count = redis.register_script(_COUNT)
        self._reap = redis.register_script(_REAP)
        self._resync = redis.register_script(_RESYNC)
        self._heartbeat = redis.register_script(_HEARTBEAT)

    # -- keys ----------------------------------------------------------------------
    def _subs_key(self, app_id: str) -> str:
        return f"{self.prefix}:subs:{app_id}"

    def _members_key(self, app_id: str, channel: str) -> str:
        return f"{self.prefix}:members:{app_id}:{channel}"

    def _users_key(self, app_id: str, channel: str) -> str:
        return f"{self.prefix}:users:{app_id}:{channel}"

    def _presence_keys(self, app_id: str, channel: str) -> list[str]:
        return [
            self._node_key,
            self._subs_key(app_id),
            self._members_key(app_id, channel),
            self._users_key(app_id, channel),
        ]

    # -- writes --------------------------------------------------------------------
    async def join_presence(
        self, app_id: str, channel: str, socket_id: str, user_id: str, user_info: Any
    ) -> tuple[bool, bool, dict[str, Any]]:
        """Returns (first socket of the user anywhere, channel just occupied, members)."""
        first, occupied, flat = await self._join(
            keys=self._presence_keys(app_id, channel),
            args=[
                _p_field(app_id, channel, socket_id),
                _s_field(app_id, channel),
                channel,
                user_id,
                _info_json(user_info),
            ],
        )
        return bool(first), bool(occupied), _members(flat)

    async def leave_presence(self, app_id: str, channel: str, socket_id: str) -> tuple[bool, bool]:
        """Returns (last socket of the user anywhere, channel vacated)."""
        last, vacated = await self._leave(
            keys=self._presence_keys(app_id, channel),
            args=[_p_field(app_id, channel, socket_id), _s_field(app_id, channel), channel],
        )
        return bool(last), bool(vacated)

    async def count_subscription(self, app_id: str, channel: str, delta: int) -> int:
        """Add ``delta`` (+1/-1) to the channel's count; the new cluster total, -1 if unchanged."""
        return int(
            await self._count(
                keys=[self._node_key, self._subs_key(app_id)],
                args=[_s_field(app_id, channel), channel, delta],
            )
        )

    async def resync(self, snapshot: Snapshot, ttl_ms: int) -> tuple[list[PresenceChange], list[PresenceChange]]:
        """Replace this node's contribution; returns members (joined, left) cluster-wide."""
        joined, left = await self._resync(
            args=[self.prefix, self.node_id, ttl_ms, snapshot.to_json()]
        )
        return _changes(joined, True), _changes(left, False)

    async def heartbeat(self, ttl_ms: int) -> tuple[bool, list[str]]:
        """Refresh this node's TTL; returns (we had been reaped, nodes whose TTL ran out)."""
        reaped, dead = await self._heartbeat(args=[self.prefix, self.node_id, ttl_ms])
        return bool(reaped), [_text(d) for d in dead]

    async def reap(self, node_id: str, only_if_dead: bool = True) -> list[PresenceChange]:
        """Undo a node's contribution (exactly once); returns members gone cluster-wide."""
        flat = await self._reap(args=[self.prefix, node_id, "1" if only_if_dead else "0"])
        return _changes(flat, False)

    # -- reads ---------------------------------------------------------------------
    async def members(self, app_id: str, channel: str) -> dict[str, Any]:
        raw = await self.redis.hgetall(self._members_key(app_id, channel))
        return {_text(k): orjson.loads(v) for k, v in raw.items()}

    async def members_of(self, channels: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Members of several (app id, channel) pairs in one round trip."""
        if not channels:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for app_id, channel in channels:
                pipe.hgetall(self._members_key(app_id, channel))
            answers = await pipe.execute()
        return [{_text(k): orjson.loads(v) for k, v in raw.items()} for raw in answers]

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        is_presence = channel_kind(channel) is ChannelKind.PRESENCE
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._subs_key(app_id), channel)
            if is_presence:
                pipe.hlen(self._users_key(app_id, channel))
            answers = await pipe.execute()
        subs = int(answers[0] or 0)
        return ChannelStats(subs, int(answers[1]) if is_presence else None)

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        counts = {_text(k): int(v) for k, v in (await self.redis.hgetall(self._subs_key(app_id))).items()}
        presence = [name for name in counts if channel_kind(name) is ChannelKind.PRESENCE]
        users: list[int] = []
        if presence:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in presence:
                    pipe.hlen(self._users_key(app_id, name))
                users = await pipe.execute()
        per_user = dict(zip(presence, users, strict=True))
        return {
            name: ChannelStats(count, int(per_user[name]) if name in per_user else None)
            for name, count in counts.items()
            if count > 0
        }
