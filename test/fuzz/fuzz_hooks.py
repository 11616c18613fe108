"""schemathesis hooks of `npm run fuzz` (test/fuzz/main.ts sets SCHEMATHESIS_HOOKS).

They keep out of the generated bodies only what JSON Schema cannot say, so that every
other refusal of a schema-valid request still fails the run:

- a transfer from an account to itself (from_account_id == to_account_id, any case): kept
  out of generated bodies by filter_body, and out of the stateful phase, whose links fill
  both ids from one response after generation (so filter_body never sees them), by
  before_call;
- account metadata past its total key count or its serialised size (METADATA_KEYS_MAX and
  METADATA_BYTES_MAX in packages/domain/src/limits.ts: keep the numbers in step).
"""
import json
import uuid

import schemathesis

METADATA_KEYS_MAX = 64
METADATA_BYTES_MAX = 4096


def _keys(value):
    if isinstance(value, dict):
        return len(value) + sum(_keys(v) for v in value.values())
    if isinstance(value, list):
        return len(value) + sum(_keys(v) for v in value)
    return 0


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _self_transfer(body):
    if not isinstance(body, dict):
        return False
    source, target = body.get("from_account_id"), body.get("to_account_id")
    return isinstance(source, str) and isinstance(target, str) and source.lower() == target.lower()


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # Only when both ids are well-formed: then the request's other fields decide whether it is
    # valid, and moving the credit to another (unknown) account changes nothing else. A
    # negative case whose ids are the same malformed string is left alone, so its 400 stands.
    body = case.body
    if _self_transfer(body) and _is_uuid(body["from_account_id"]):
        body["to_account_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "ledgerline-fuzz:" + body["from_account_id"].lower()))


@schemathesis.hook
def filter_body(ctx, body):
    if not isinstance(body, dict):
        return True
    if _self_transfer(body):
        return False
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
        if _keys(metadata) > METADATA_KEYS_MAX or size > METADATA_BYTES_MAX:
            return False
    return True
