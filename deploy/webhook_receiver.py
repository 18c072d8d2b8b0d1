"""A small Alertmanager webhook receiver: logs every notification it gets, one JSON line each.

    python deploy/webhook_receiver.py --listen 127.0.0.1:9095 --log alerts.jsonl

POST /<receiver> with Alertmanager's webhook payload; the line logged is
{"receiver": path, "status": ..., "alerts": [{"status", "labels", "annotations"}, ...]}.
Standard library only, so it runs anywhere Python does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    log_file: Any = None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        entry = {
            "receiver": self.path.strip("/") or "default",
            "status": payload.get("status"),
            "alerts": [{"status": a.get("status"), "labels": a.get("labels", {}),
                        "annotations": a.get("annotations", {})}
                       for a in payload.get("alerts", [])],
        }  # fmt: skip
        line = json.dumps(entry, sort_keys=True)
        with _lock:
            print(line, flush=True)
            if self.log_file is not None:
                self.log_file.write(line + "\n")
                self.log_file.flush()
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:  # /healthz for readiness checks
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:9095", help="host:port")
    parser.add_argument("--log", help="Append notifications to this file (JSON lines).")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    if args.log:
        Handler.log_file = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the server
    try:
        server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    except OSError as exc:
        sys.exit(f"webhook_receiver: cannot listen on {args.listen}: {exc.strerror or exc}")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
