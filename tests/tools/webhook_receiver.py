#!/usr/bin/env python3
"""A minimal Kubently webhook receiver (Python standard library only).

Verifies every delivery's Standard Webhooks signature (HMAC-SHA256 over
"<webhook-id>.<webhook-timestamp>.<body>", base64, "v1," prefix, timestamp within 5 minutes)
and prints the verified event. Unsigned or badly signed requests get 401.

    python3 tests/tools/webhook_receiver.py --port 9000 --secret whsec_...
    python3 tests/tools/webhook_receiver.py --port 9000 --secret-file /tmp/secret   # read on each request

--secret-file lets you start the receiver before the gateway hands out the secret.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    if not secret.startswith("whsec_"):
        raise ValueError("secret must start with whsec_")
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(sig[3:], expected) for sig in header.split(" ") if sig.startswith("v1,"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9000)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--secret")
    group.add_argument("--secret-file")
    args = parser.parse_args()

    def secret() -> str:
        if args.secret:
            return args.secret
        with open(args.secret_file, encoding="utf-8") as f:
            return f.read().strip()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            msg_id = self.headers.get("webhook-id", "")
            timestamp = self.headers.get("webhook-timestamp", "0")
            try:
                ok = verify(secret(), msg_id, timestamp, body, self.headers.get("webhook-signature", ""))
            except (ValueError, OSError) as e:
                print(f"cannot verify: {e}", file=sys.stderr, flush=True)
                ok = False
            self.send_response(204 if ok else 401)
            self.end_headers()
            if ok:
                print(f"verified webhook {msg_id}:", json.dumps(json.loads(body), indent=2), flush=True)
            else:
                print(f"REJECTED webhook {msg_id!r}: bad signature", flush=True)

        def log_message(self, *_args) -> None:
            pass

    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
