"""`make up` / `make down`: the demo, Prometheus, Alertmanager and a webhook receiver on loopback.

    python deploy/stack.py up | down | status

Prometheus (Debian's `prometheus`) scrapes the demo every 5s and loads rules/*.rules.yaml;
Alertmanager (Debian's `prometheus-alertmanager`) routes with deploy/alertmanager.yml to the
webhook receiver, which logs every notification to .stack/alerts.jsonl. State (pids, logs,
data) lives in .stack/. A missing package or a busy port is one message and exit 1, with
nothing left running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
STATE = REPO / ".stack"
PIDS = STATE / "pids.json"
PACKAGES = "apt-get install prometheus prometheus-alertmanager"


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    ready_path: str

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


# deploy/prometheus.yml names the demo's and Alertmanager's ports too.
HOOK = Service("webhook receiver", 9095, "/healthz")
ALERTMANAGER = Service("alertmanager", 9093, "/-/ready")
DEMO = Service("demo", 9464, "/healthz")
PROMETHEUS = Service("prometheus", 9090, "/-/ready")
SERVICES = (HOOK, ALERTMANAGER, DEMO, PROMETHEUS)  # started in this order


def _binary(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _commands(prometheus: str, alertmanager: str) -> dict[str, list[str]]:
    return {
        HOOK.name: [sys.executable, str(DEPLOY / "webhook_receiver.py"),
                    "--listen", HOOK.address, "--log", str(STATE / "alerts.jsonl")],
        ALERTMANAGER.name: [alertmanager, f"--config.file={DEPLOY / 'alertmanager.yml'}",
                            f"--storage.path={STATE / 'alertmanager'}",
                            f"--web.listen-address={ALERTMANAGER.address}",
                            "--cluster.listen-address="],
        DEMO.name: [sys.executable, "-m", "llm_exporter.cli", "demo",
                    "--listen-address", DEMO.address],
        PROMETHEUS.name: [prometheus, f"--config.file={DEPLOY / 'prometheus.yml'}",
                          f"--storage.tsdb.path={STATE / 'prometheus'}",
                          f"--web.listen-address={PROMETHEUS.address}"],
    }  # fmt: skip


def _wait_ready(service: Service, proc: subprocess.Popen, timeout: float = 60) -> bool:
    url = service.url + service.ready_path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def up() -> int:
    if _running():
        print("stack: already up (make down first); status:", file=sys.stderr)
        status()
        return 1
    prometheus = _binary("prometheus")
    alertmanager = _binary("prometheus-alertmanager", "alertmanager")
    missing = [n for n, p in (("prometheus", prometheus), ("alertmanager", alertmanager)) if not p]
    if missing:
        print(f"stack: {' and '.join(missing)} not found; install them with: {PACKAGES}",
              file=sys.stderr)  # fmt: skip
        return 1
    busy = [s for s in SERVICES if _port_in_use(s.port)]
    if busy:
        names = ", ".join(f"{s.port} ({s.name})" for s in busy)
        print(f"stack: port {names} already in use on 127.0.0.1; stop what listens there",
              file=sys.stderr)  # fmt: skip
        return 1
    STATE.mkdir(exist_ok=True)
    commands = _commands(prometheus, alertmanager)  # type: ignore[arg-type]
    started: dict[str, int] = {}
    for service in SERVICES:
        log = (STATE / f"{service.name.replace(' ', '-')}.log").open("w")
        proc = subprocess.Popen(commands[service.name], stdout=log, stderr=subprocess.STDOUT,
                                cwd=REPO, start_new_session=True)  # fmt: skip
        started[service.name] = proc.pid
        PIDS.write_text(json.dumps(started))
        if not _wait_ready(service, proc):
            print(f"stack: {service.name} did not start; its log ({log.name}) ends with:",
                  file=sys.stderr)  # fmt: skip
            print(Path(log.name).read_text()[-1500:], file=sys.stderr)
            down(quiet=True)
            return 1
    print(f"stack up:\n  demo metrics  {DEMO.url}/metrics\n"
          f"  prometheus    {PROMETHEUS.url}  (alerts: /alerts)\n"
          f"  alertmanager  {ALERTMANAGER.url}\n"
          f"  notifications {STATE / 'alerts.jsonl'}\nstop it with: make down")  # fmt: skip
    return 0


def _running() -> dict[str, int]:
    if not PIDS.exists():
        return {}
    pids = json.loads(PIDS.read_text())
    return {name: pid for name, pid in pids.items() if _alive(pid)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def down(quiet: bool = False) -> int:
    pids = json.loads(PIDS.read_text()) if PIDS.exists() else {}
    for name, pid in reversed(list(pids.items())):
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            continue
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        if not quiet:
            print(f"stopped {name}")
    PIDS.unlink(missing_ok=True)
    for data in ("prometheus", "alertmanager"):
        shutil.rmtree(STATE / data, ignore_errors=True)
    if not quiet and not pids:
        print("stack: nothing was running")
    return 0


def status() -> int:
    running = _running()
    for service in SERVICES:
        state = f"up (pid {running[service.name]})" if service.name in running else "down"
        print(f"  {service.name:16} {state}")
    return 0 if running else 1


def main() -> int:
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    actions = {"up": up, "down": down, "status": status}
    if action not in actions:
        print("usage: stack.py up | down | status", file=sys.stderr)
        return 2
    return actions[action]()


if __name__ == "__main__":
    sys.exit(main())
