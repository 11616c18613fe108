"""schemathesis hooks of `npm run fuzz` (test/fuzz/main.ts sets SCHEMATHESIS_HOOKS).

They keep out of the generated bodies only what JSON Schema cannot say, so that every
other refusal of a schema-valid request still fails the run:

- a transfer from an account to itself (from_account_id == to_account_id, any case);
- account metadata past its total key count or its serialised size (METADATA_KEYS_MAX and
  METADATA_BYTES_MAX in packages/domain/src/limits.ts: keep the numbers in step).
"""
import json

import schemathesis

METADATA_KEYS_MAX = 64
METADATA_BYTES_MAX = 4096


def _keys(value):
    if isinstance(value, dict):
        return len(value) + sum(_keys(v) for v in value.values())
    if isinstance(value, list):
        return len(value) + sum(_keys(v) for v in value)
    return 0


@schemathesis.hook
def filter_body(ctx, body):
    if not isinstance(body, dict):
        return True
    source, target = body.get("from_account_id"), body.get("to_account_id")
    if isinstance(source, str) and isinstance(target, str) and source.lower() == target.lower():
        return False
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
        if _keys(metadata) > METADATA_KEYS_MAX or size > METADATA_BYTES_MAX:
            return False
    return True
