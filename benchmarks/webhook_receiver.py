"""A local webhook receiver for the outage demonstration (docs/operations.md): prints every
request it gets, one line each, so a reader sees the alert Prefect's automation sends.

``python -m benchmarks.webhook_receiver [--port 8799]``, then ``ALERT_WEBHOOK_URL=
http://127.0.0.1:8799/alerts mysetlist setup``. Answers 204 to every POST; stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body: object = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        at = datetime.now(UTC).strftime("%H:%M:%S")
        content_type = self.headers.get("Content-Type")
        print(f"{at} POST {self.path} ({content_type}): {json.dumps(body)}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the POST line above is the log."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), _Handler)
    print(f"webhook receiver on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
