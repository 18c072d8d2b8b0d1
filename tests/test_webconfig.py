"""--web-config: basic auth and TLS on a live server, and every bad file as one line, exit 2."""

from __future__ import annotations

import base64
import ssl
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import trustme

from .conftest import ServeProcess, http_get, run_cli

PASSWORD = "correct horse"


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
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n")
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
