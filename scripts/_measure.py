"""What the benchmark scripts share."""

from __future__ import annotations

import http.client


def rss_bytes() -> int:
    """This process's resident set size, from /proc (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def scrape(port: int, headers: dict[str, str] | None = None, timeout: float = 120) -> bytes:
    """GET /metrics on 127.0.0.1:``port`` over a fresh connection, as Prometheus scrapes; the
    body as sent (compressed where the headers asked for it). Anything but 200 raises."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/metrics", headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"/metrics answered {resp.status}")
        return body
    finally:
        conn.close()
