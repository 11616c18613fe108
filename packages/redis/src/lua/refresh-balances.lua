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
  as a Lua number: Lua numbers are doubles and lose exactness above 2^53. A hash written
  before holds existed has no rev: any write replaces it.
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
  local base = 2 + (i - 1) * 6
  local rev = ARGV[base + 5]
  local stored = redis.call('HGET', KEYS[i], 'rev')
  if (not stored) or older(stored, rev) then
    redis.call('HSET', KEYS[i], 'balance', ARGV[base], 'seq', ARGV[base + 1], 'currency', ARGV[base + 2], 'as_of', ARGV[base + 3],
      'held', ARGV[base + 4], 'rev', rev)
    redis.call('EXPIRE', KEYS[i], ttl)
    written = written + 1
  end
end
return written
