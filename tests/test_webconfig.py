"""--web-config: basic auth and TLS on a live server, and every bad file as one line, exit 2."""

from __future__ import annotations

import base64
import ssl
import statistics
import time
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path

import bcrypt
import pytest
import trustme

from llm_exporter.webconfig import load_web_config

from .conftest import ServeProcess, http_get, run_cli

PASSWORD = "correct horse"
# Over bcrypt's 72 bytes: the toolkit compares the first 72, so the 73rd onwards do not matter.
LONG_PASSWORD = "p" * 100


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(tmp_path: Path, ca: trustme.CA) -> tuple[Path, Path]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "server.crt", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return cert_file, key_file


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[ServeProcess]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    long = bcrypt.hashpw(LONG_PASSWORD.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n  long: '{long}'\n")
    proc = ServeProcess("--web-config", str(config))
    yield proc
    proc.stop()


def test_basic_auth(auth_server: ServeProcess) -> None:
    url = auth_server.url + "/metrics"
    status, headers, _ = http_get(url)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert http_get(url, _basic("prometheus", "wrong"))[0] == 401
    assert http_get(url, _basic("nobody", PASSWORD))[0] == 401
    status, _, body = http_get(url, _basic("prometheus", PASSWORD))
    assert status == 200 and b"llm_exporter_build_info" in body
    # The cached success must not leak to a different password.
    assert http_get(url, _basic("prometheus", "wrong"))[0] == 401


def test_long_passwords_compare_on_72_bytes(auth_server: ServeProcess) -> None:
    url = auth_server.url + "/metrics"
    # A known user with a long wrong password is a 401 like any other (it was a 500, which
    # told an attacker the user name exists).
    assert http_get(url, _basic("prometheus", "x" * 100))[0] == 401
    assert http_get(url, _basic("nobody", "x" * 100))[0] == 401
    assert http_get(url, _basic("long", LONG_PASSWORD))[0] == 200
    assert http_get(url, _basic("long", LONG_PASSWORD[:72] + "different tail"))[0] == 200
    assert http_get(url, _basic("long", "q" + LONG_PASSWORD[1:]))[0] == 401


def _median_seconds(check: Callable[[], bool], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert check() is False
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.parametrize("cost", [6, 12])
def test_unknown_user_takes_as_long_as_a_wrong_password(tmp_path: Path, cost: int) -> None:
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(rounds=cost)).decode()
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  alice: '{hashed}'\n")
    config = load_web_config(path)
    runs = 7 if cost < 10 else 3
    config.check_basic_auth("nobody", "warm-up")  # the dummy hash is made once
    wrong = _median_seconds(lambda: config.check_basic_auth("alice", "wrong"), runs)
    unknown = _median_seconds(lambda: config.check_basic_auth("nobody", "wrong"), runs)
    # A fixed cost-10 dummy was 15x slower than cost 6 and 4x faster than cost 12.
    assert 0.5 < unknown / wrong < 2, (wrong, unknown)


def test_tls(tmp_path: Path, ca: trustme.CA, tls_files: tuple[Path, Path]) -> None:
    cert_file, key_file = tls_files
    config = tmp_path / "web.yml"
    # Relative paths resolve against the config file's folder, as in the exporter-toolkit.
    config.write_text(f"tls_server_config:\n  cert_file: {cert_file.name}\n"
                      f"  key_file: {key_file.name}\n")  # fmt: skip
    proc = ServeProcess("--web-config", str(config), scheme="https")
    try:
        client = ssl.create_default_context()
        ca.configure_trust(client)
        status, _, body = http_get(proc.url + "/metrics", context=client)
        assert status == 200 and b"llm_exporter_build_info" in body
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            http_get(proc.url + "/metrics", context=ssl.create_default_context())
        # Plain HTTP to the TLS port gets no metrics.
        with pytest.raises(OSError):
            http_get(f"http://127.0.0.1:{proc.port}/metrics")
    finally:
        proc.stop()


HASH_TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


def _bad_configs(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(file content, key named in the message, problem text)."""
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate\n")
    key = tmp_path / "k.key"
    key.write_text("not a key\n")
    return [
        ("basic_auth_users: [unclosed\n", "", "not valid YAML"),
        ("listen: 1\n", "listen", "unknown key"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  ciphers: x\n",
         "tls_server_config.ciphers", "unknown key"),
        ("tls_server_config:\n  cipher_suites: [x]\n", "tls_server_config.cipher_suites",
         "not supported"),
        ("basic_auth_users:\n  alice: plainpassword\n", "basic_auth_users.alice",
         "expected a bcrypt hash"),
        ("tls_server_config:\n  cert_file: x.crt\n", "tls_server_config.key_file", "required"),
        (f"tls_server_config:\n  cert_file: {tmp_path}/missing.crt\n  key_file: {key}\n",
         "tls_server_config.cert_file", "cannot read"),
        (f"tls_server_config:\n  cert_file: {garbage}\n  key_file: {key}\n",
         "tls_server_config.cert_file", "cannot load certificate"),
        ("basic_auth_users: 3\n", "basic_auth_users", "expected a mapping"),
        # Hashes bcrypt cannot check: each made every login for the user a 500 or a lockout.
        (f"basic_auth_users:\n  alice: '$2y$03${HASH_TAIL}'\n", "basic_auth_users.alice",
         "cost of 04 to 31"),
        (f"basic_auth_users:\n  alice: '$2y$99${HASH_TAIL}'\n", "basic_auth_users.alice",
         "expected a bcrypt hash"),
        (f"basic_auth_users:\n  alice: '$2$10${HASH_TAIL}'\n", "basic_auth_users.alice",
         "expected a bcrypt hash"),
        (f'basic_auth_users:\n  alice: "$2y$10${HASH_TAIL}\\n"\n', "basic_auth_users.alice",
         "expected a bcrypt hash"),
        # Only the toolkit's security headers, with its fixed values, never a CR or LF.
        ("http_server_config:\n  headers:\n    Connection: close\n",
         "http_server_config.headers.Connection", "cannot be configured"),
        ("http_server_config:\n  headers:\n    Content-Length: '0'\n",
         "http_server_config.headers.Content-Length", "cannot be configured"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
         "http_server_config.headers.X-Frame-Options", "expected one of deny, sameorigin"),
        ('http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nSet-Cookie: x"\n',
         "http_server_config.headers.Content-Security-Policy", "control characters"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
         "  max_version: TLS12\n", "tls_server_config.max_version", "below min_version TLS13"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: [TLS12]\n",
         "tls_server_config.min_version", "expected one of"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: {a: 1}\n",
         "tls_server_config.max_version", "expected one of"),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: [x]\n",
         "tls_server_config.client_auth_type", "expected one of"),
    ]  # fmt: skip


def test_bad_web_configs_are_one_line_exit_2(tmp_path: Path) -> None:
    for i, (content, key, problem) in enumerate(_bad_configs(tmp_path)):
        path = tmp_path / f"web{i}.yml"
        path.write_text(content)
        serve = ["serve", "--listen-address", "127.0.0.1:0", "--web-config", str(path)]
        for args in (["check-config", "--web-config", str(path)], serve):
            result = run_cli(*args)
            assert result.returncode == 2, (content, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith(f"llm-exporter: error: {path}: {key}"), lines[0]
            assert problem in lines[0]


def test_missing_web_config_file(tmp_path: Path) -> None:
    result = run_cli("check-config", "--web-config", str(tmp_path / "nope.yml"))
    assert result.returncode == 2
    assert "nope.yml: cannot read file" in result.stderr


def test_good_web_config_checks_ok(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert_file, key_file = tls_files
    hashed = bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)).decode()
    path = tmp_path / "web.yml"
    path.write_text(
        f"tls_server_config:\n  cert_file: {cert_file}\n  key_file: {key_file}\n"
        f"  min_version: TLS13\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        f"basic_auth_users:\n  a: '{hashed}'\n"
    )
    result = run_cli("check-config", "--web-config", str(path))
    assert result.returncode == 0 and result.stdout.strip() == f"{path}: OK"
