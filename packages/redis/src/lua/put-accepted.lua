--[[
  put-accepted: many ACCEPTED records in one round trip (a batch's items).

  Each record is what `AcceptedTransfers.putAccepted` writes for one command: a plain string
  key with the record's JSON and a TTL, unless the key already holds a value (NX): the
  worker's applied mark (it applied the command before this write arrived), or the same
  record from an earlier request with the same Idempotency-Key. One script call instead of one SET per item spares the
  API a command object, a write and a reply per item (POST /v1/batch writes up to 1,000).

  KEYS[i]      {prefix}acc:{id}, one per record
  ARGV[1]      TTL in seconds
  ARGV[1 + i]  the record's JSON for KEYS[i]

  Returns      the number of records written.
]]
local ttl = ARGV[1]
local written = 0
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl, 'NX') then
    written = written + 1
  end
end
return written
