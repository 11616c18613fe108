--[[
  refresh-balances: versioned write of many cached account balances in one round trip.

  A worker refreshes the cache after its Postgres commit, and the API read-repairs it after
  reading Postgres; two writers may race, and a slow one may carry an older figure. So each
  balance travels with its account's `rev` (bumped by every change the single writer makes
  to the account: an entry, a hold placed or released, a status or limit change) and a write
  lands only if it is newer than what is stored: the cache may lag, it never goes back
  (docs/design.md, invariant 9). `seq` alone no longer versions it: a hold changes `available` without
  an entry.

  KEYS[i]   {prefix}bal:{accountId}, one per account (a hash: balance, seq, currency, as_of,
            held, rev)
  ARGV[1]   TTL in seconds, set again on every write
  ARGV[2 + 6*(i-1) .. 7 + 6*(i-1)]
            balance, seq, currency, as_of, held, rev for KEYS[i]; balance, seq, held and rev
            are decimal strings (balance may be negative), as_of is ISO 8601

  Returns   the number of keys written; the others already held an equal or newer rev.

  rev is compared as a canonical decimal string (longer is larger, then lexicographic), not
  as a Lua number: Lua numbers are doubles and lose exactness above 2^53.

  Redis is not trusted (docs/security.md): a stored entry keeps its place only if it is a
  balance one of our writers could have written, as BalanceCache.lookup checks it: every
  field present; balance, seq, held and rev canonical decimal integers within PostgreSQL's
  bigint (seq, held and rev not negative); as_of shaped as an ISO 8601 instant; the currency
  the incoming one (an account's never changes); and a TTL (every write sets one). Anything
  else (a rev of 30 digits or "9e99", another currency, a missing field, a string where the
  hash should be, a hash that never expires) is treated as absent and replaced whole, so it
  can never block a real refresh. Only an entry that would keep its place is checked whole:
  one with a canonical older rev is overwritten field by field, as before (the common case
  costs one HGET, as it always did), and so is one with no rev (written before holds).
]]

local INT64_MAX = '9223372036854775807'
local INT64_MIN_MAGNITUDE = '9223372036854775808'

local function older(stored, incoming)
  if #stored ~= #incoming then
    return #stored < #incoming
  end
  return stored < incoming
end

-- A canonical decimal (digits only, no leading zero) no larger than `max` (a string of digits).
local function decimalUpTo(s, max)
  if not s or not string.find(s, '^%d+$') or (#s > 1 and string.sub(s, 1, 1) == '0') then
    return false
  end
  return not older(max, s)
end

local function counter(s)
  return decimalUpTo(s, INT64_MAX)
end

local function signed(s)
  if s and string.sub(s, 1, 1) == '-' then
    local magnitude = string.sub(s, 2)
    return magnitude ~= '0' and decimalUpTo(magnitude, INT64_MIN_MAGNITUDE)
  end
  return decimalUpTo(s, INT64_MAX)
end

-- YYYY-MM-DDTHH:MM:SS, up to 6 fractional digits, then Z or an offset.
local function instant(s)
  if not s or #s > 40 then
    return false
  end
  local rest = string.match(s, '^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d(.*)$')
  if not rest then
    return false
  end
  local fraction, offset = string.match(rest, '^%.(%d+)(.*)$')
  if fraction then
    if #fraction > 6 then
      return false
    end
    rest = offset
  end
  return rest == 'Z' or string.find(rest, '^[+-]%d%d:%d%d$') ~= nil
end

-- Whether the hash at `key` (its rev checked already) is a balance our writers wrote for an
-- account in `currency`: every other field well-formed, and a TTL (every write sets one).
local function ours(key, currency)
  local f = redis.call('HMGET', key, 'balance', 'seq', 'currency', 'as_of', 'held')
  return signed(f[1]) and counter(f[2]) and f[3] == currency and instant(f[4]) and counter(f[5])
    and redis.call('PTTL', key) ~= -1
end

local ttl = tonumber(ARGV[1])
local written = 0
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 6
  local rev = ARGV[base + 5]
  -- pcall: a key of another type answers WRONGTYPE, which must not fail the other keys' writes.
  local stored = redis.pcall('HGET', KEYS[i], 'rev')
  local write, foreign
  if type(stored) == 'table' then
    write, foreign = true, true -- another type
  elseif not stored then
    write, foreign = true, false -- absent (or written before holds: all its fields are written now)
  elseif counter(stored) and older(stored, rev) then
    write, foreign = true, false -- the common case: every field is written now
  else
    -- The stored rev is malformed, or equal or newer: it is kept only if it is ours.
    foreign = not (counter(stored) and ours(KEYS[i], ARGV[base + 2]))
    write = foreign
  end
  if write then
    if foreign then
      redis.call('DEL', KEYS[i]) -- replaced whole: no field of it stays
    end
    redis.call('HSET', KEYS[i], 'balance', ARGV[base], 'seq', ARGV[base + 1], 'currency', ARGV[base + 2], 'as_of', ARGV[base + 3],
      'held', ARGV[base + 4], 'rev', rev)
    redis.call('EXPIRE', KEYS[i], ttl)
    written = written + 1
  end
end
return written
