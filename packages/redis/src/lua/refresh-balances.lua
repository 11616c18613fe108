--[[
  refresh-balances: versioned write of many cached account balances in one round trip.

  A worker refreshes the cache after its Postgres commit, and the API read-repairs it after
  reading Postgres; two writers may race, and a slow one may carry an older figure. So each
  balance travels with its account's entry sequence number (seq) and a write lands only if
  it is newer than what is stored: the cache may lag, it never goes back (docs/design.md, invariant 9).

  KEYS[i]   {prefix}bal:{accountId}, one per account (a hash: balance, seq, currency, as_of)
  ARGV[1]   TTL in seconds, set again on every write
  ARGV[2 + 4*(i-1) .. 5 + 4*(i-1)]
            balance, seq, currency, as_of for KEYS[i]; balance and seq are decimal strings
            (balance may be negative), as_of is ISO 8601

  Returns   the number of keys written; the others already held an equal or newer seq.

  seq is compared as a canonical decimal string (longer is larger, then lexicographic), not
  as a Lua number: Lua numbers are doubles and lose exactness above 2^53.
]]

local function older(stored, incoming)
  if #stored ~= #incoming then
    return #stored < #incoming
  end
  return stored < incoming
end

local ttl = tonumber(ARGV[1])
local written = 0
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  local seq = ARGV[base + 1]
  local stored = redis.call('HGET', KEYS[i], 'seq')
  if (not stored) or older(stored, seq) then
    redis.call('HSET', KEYS[i], 'balance', ARGV[base], 'seq', seq, 'currency', ARGV[base + 2], 'as_of', ARGV[base + 3])
    redis.call('EXPIRE', KEYS[i], ttl)
    written = written + 1
  end
end
return written
