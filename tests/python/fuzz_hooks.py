"""Schemathesis hooks for the REST fuzz run (tests/tests/it/fuzz.rs).

Nothing may leave the machine: every request must go to the test gateway on loopback (checked
here, before each call), and every URL the gateway itself would call (a subscription's `url`,
an async command's `callback_url`) is pointed at the test's loopback receiver. The gateway accepts
public webhook targets, so a fuzzed `http://example.com/` would otherwise be POSTed to.

A body's valid `cluster_id` is sometimes swapped for the test's cluster, so commands and
sessions reach the real executor instead of all ending as 404s; likewise the first of a fan-out's
valid `cluster_ids`.
"""

import os
import re
import zlib
from urllib.parse import urlsplit

import schemathesis

RECEIVER = os.environ["KUBENTLY_FUZZ_RECEIVER"]
CLUSTER = os.environ["KUBENTLY_FUZZ_CLUSTER"]
LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}
CLUSTER_ID = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
URL_FIELDS = ("url", "callback_url")

if urlsplit(RECEIVER).hostname not in LOOPBACK:
    raise SystemExit(f"the fuzz receiver must be on loopback, not {RECEIVER}")


@schemathesis.hook
def before_call(context, case, kwargs):
    base = case.operation.schema.get_base_url()
    if urlsplit(base).hostname not in LOOPBACK:
        raise RuntimeError(f"refusing to send a fuzz request to {base}: only loopback is allowed")
    body = case.body
    if not isinstance(body, dict):
        return
    for field in URL_FIELDS:
        if isinstance(body.get(field), str):
            body[field] = RECEIVER
    ids = body.get("cluster_ids")
    if (
        isinstance(ids, list)
        and ids
        and CLUSTER not in ids
        and all(isinstance(c, str) and CLUSTER_ID.match(c) and len(c) <= 100 for c in ids)
        and zlib.crc32(",".join(ids).encode()) % 2 == 0
    ):
        ids[0] = CLUSTER
    cluster = body.get("cluster_id")
    if isinstance(cluster, str) and CLUSTER_ID.match(cluster) and len(cluster) <= 100:
        if zlib.crc32(cluster.encode()) % 2 == 0:
            body["cluster_id"] = CLUSTER
