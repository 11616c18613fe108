--[[
  mark-applied: the worker's word that these commands are applied (their rows committed).

  Each key's ACCEPTED record, if any, is replaced by the applied mark with a short TTL: the
  record has done its work (Postgres answers from now on), and the mark keeps out a record
  the API writes after this (put-accepted.lua skips a key holding the mark). A key without a record gets the
  mark too: the API's write may still be on its way.

  KEYS[i]      {prefix}acc:{id}, one per applied command
  ARGV[1]      the mark's TTL in seconds
  ARGV[2]      the mark (AcceptedTransfers' APPLIED_MARK)

  Returns      the number of keys marked.
]]
local ttl = ARGV[1]
local mark = ARGV[2]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], mark, 'EX', ttl)
end
return #KEYS
