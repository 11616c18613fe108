--[[
  put-accepted: ACCEPTED records, one or many in one round trip (a batch's items).

  Each record is a plain string key with the record's JSON and a TTL, written unless the key
  holds the worker's applied mark: the worker applied the command before this write arrived,
  and Postgres answers for it now. Anything else at the key is overwritten: the same record
  from an earlier request with the same Idempotency-Key, or a value none of our writers wrote
  (which must not block the real record: docs/security.md, "Redis"). One script call instead
  of one command per item spares the API a command object, a write and a reply per item
  (POST /v1/batch writes up to 1,000).

  KEYS[i]      {prefix}acc:{id}, one per record
  ARGV[1]      TTL in seconds
  ARGV[2]      the applied mark (AcceptedTransfers' APPLIED_MARK)
  ARGV[2 + i]  the record's JSON for KEYS[i]

  Returns      the number of records written.
]]
local ttl = ARGV[1]
local mark = ARGV[2]
local written = 0
for i = 1, #KEYS do
  -- pcall: a key of another type answers WRONGTYPE, which would end the script and leave this
  -- record and every one after it unwritten; SET replaces a value of any type.
  if redis.pcall('GET', KEYS[i]) ~= mark then
    redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ttl)
    written = written + 1
  end
end
return written
