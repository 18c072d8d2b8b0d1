"""``--web-config FILE`` in the Prometheus exporter-toolkit format, as node_exporter reads it.

Supported keys::

    tls_server_config:
      cert_file: server.crt          # both or neither
      key_file: server.key
      client_auth_type: NoClientCert # or VerifyClientCertIfGiven, RequireAndVerifyClientCert
      client_ca_file: ca.crt         # needed for the two that verify
      min_version: TLS12             # TLS10..TLS13
      max_version: TLS13
    http_server_config:
      headers: {X-Frame-Options: deny}  # the toolkit's five security headers only
    basic_auth_users:
      alice: $2y$10$...              # bcrypt hashes only, as the toolkit requires

Passwords longer than 72 bytes are compared on their first 72 bytes, as the toolkit's Go bcrypt
does (bcrypt never reads further); Python's bcrypt 5 would raise on them instead.

Keys the toolkit has but Python's ssl cannot honour the same way (cipher_suites,
curve_preferences, prefer_server_cipher_suites, http2) are refused by name rather than silently
ignored, so nobody believes a restriction is in force when it is not. Any other unknown key is an
error too, as in the toolkit's strict parsing. Relative paths resolve against the file's folder.
"""

from __future__ import annotations

import functools
import hashlib
import re
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

from .errors import ConfigError
from .yamlfile import read_yaml

# The variants and costs (4..31) bcrypt can check; \Z, not $, so a trailing newline is refused.
_BCRYPT_HASH = re.compile(r"\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}\Z")
BCRYPT_MAX_PASSWORD = 72
# exporter-toolkit's allowed response headers; None: any value (without control characters).
_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNSUPPORTED = {
    "cipher_suites": "Python's ssl module picks TLS 1.3 suites itself; use min_version instead",
    "curve_preferences": "not configurable through Python's ssl module",
    "prefer_server_cipher_suites": "not configurable through Python's ssl module",
    "http2": "llm-exporter serves HTTP/1.0 only",
}
_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users"}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
             "max_version"}  # fmt: skip
_HTTP_KEYS = {"headers"}


@dataclass
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Successful checks are cached by a digest of the credentials: bcrypt is slow on purpose,
    # and a scrape every few seconds should not pay for it each time (the toolkit does the same).
    _verified: set[bytes] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def auth_required(self) -> bool:
        return bool(self.users)

    def check_basic_auth(self, username: str, password: str) -> bool:
        hashed = self.users.get(username)
        if hashed is None:
            # Spend the same time as a real check so user names cannot be probed by timing:
            # a hash at the configured users' cost, as bcrypt's time doubles with each step.
            bcrypt.checkpw(b"x", _dummy_hash(self._dummy_cost()))
            return False
        digest = hashlib.sha256(f"{username}\0{password}".encode()).digest()
        if digest in self._verified:
            return True
        # bcrypt reads 72 bytes at most; Go's (the toolkit's) ignores the rest, Python's raises.
        if bcrypt.checkpw(password.encode()[:BCRYPT_MAX_PASSWORD], hashed):
            with self._lock:
                self._verified.add(digest)
            return True
        return False

    def _dummy_cost(self) -> int:
        # The highest configured cost: an unknown user is never faster than a known one.
        return max((_cost(h) for h in self.users.values()), default=10)


def _cost(hashed: bytes) -> int:
    return int(hashed[4:6])


@functools.cache
def _dummy_hash(cost: int) -> bytes:
    return bcrypt.hashpw(b"dummy", bcrypt.gensalt(rounds=cost))


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check a web config file; any problem raises ConfigError naming file and key."""
    src = str(path)
    data = read_yaml(path)
    if data is None:
        return WebConfig()
    _expect_mapping(src, None, data)
    _reject_unknown(src, "", data, _TOP_KEYS)
    base = Path(path).resolve().parent
    config = WebConfig()
    if data.get("tls_server_config") is not None:
        config.tls = _tls_context(src, base, data["tls_server_config"])
    if data.get("http_server_config") is not None:
        config.headers = _headers(src, data["http_server_config"])
    if data.get("basic_auth_users") is not None:
        config.users = _users(src, data["basic_auth_users"])
    return config


def _expect_mapping(src: str, key: str | None, value: Any) -> None:
    if not isinstance(value, dict):
        raise ConfigError(src, key, f"expected a mapping, got {type(value).__name__}")


def _reject_unknown(src: str, prefix: str, data: dict[str, Any], known: set[str]) -> None:
    for key in data:
        if key in known:
            continue
        name = f"{prefix}{key}"
        if key in _UNSUPPORTED:
            raise ConfigError(src, name, f"not supported: {_UNSUPPORTED[key]}")
        raise ConfigError(src, name, f"unknown key (expected one of: {', '.join(sorted(known))})")


def _string(src: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(src, key, "expected a non-empty string")
    return value


def _tls_context(src: str, base: Path, tls: Any) -> ssl.SSLContext:
    key = "tls_server_config"
    _expect_mapping(src, key, tls)
    _reject_unknown(src, f"{key}.", tls, _TLS_KEYS)
    if "cert_file" not in tls or "key_file" not in tls:
        missing = "cert_file" if "cert_file" not in tls else "key_file"
        raise ConfigError(src, f"{key}.{missing}", "required when tls_server_config is set")
    cert = base / _string(src, f"{key}.cert_file", tls["cert_file"])
    private = base / _string(src, f"{key}.key_file", tls["key_file"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = _tls_version(src, f"{key}.min_version", tls.get("min_version", "TLS12"))
    if "max_version" in tls:
        ctx.maximum_version = _tls_version(src, f"{key}.max_version", tls["max_version"])
        if ctx.maximum_version < ctx.minimum_version:
            # Every handshake would fail: refuse at start, not at the first scrape.
            problem = f"{tls['max_version']} is below min_version {tls.get('min_version', 'TLS12')}"
            raise ConfigError(src, f"{key}.max_version", problem)
    auth = tls.get("client_auth_type", "NoClientCert")
    if not isinstance(auth, str) or auth not in _CLIENT_AUTH:
        choices = ", ".join(_CLIENT_AUTH)
        problem = f"expected one of {choices}, got {auth!r}"
        raise ConfigError(src, f"{key}.client_auth_type", problem)
    for name, file in (("cert_file", cert), ("key_file", private)):
        if not file.is_file():
            raise ConfigError(src, f"{key}.{name}", f"cannot read {file}")
    try:
        ctx.load_cert_chain(str(cert), str(private))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            src,
            f"{key}.cert_file",
            f"cannot load certificate {cert} with key {private}: "
            f"{getattr(exc, 'reason', None) or exc}",
        ) from None
    ctx.verify_mode = _CLIENT_AUTH[auth]
    if ctx.verify_mode != ssl.CERT_NONE:
        if "client_ca_file" not in tls:
            raise ConfigError(src, f"{key}.client_ca_file", f"required by {auth}")
        ca = base / _string(src, f"{key}.client_ca_file", tls["client_ca_file"])
        try:
            ctx.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(src, f"{key}.client_ca_file", f"cannot load {ca}: {exc}") from None
    return ctx


def _tls_version(src: str, key: str, value: Any) -> ssl.TLSVersion:
    if not isinstance(value, str) or value not in _TLS_VERSIONS:
        raise ConfigError(src, key, f"expected one of {', '.join(_TLS_VERSIONS)}, got {value!r}")
    return _TLS_VERSIONS[value]


def _headers(src: str, http: Any) -> dict[str, str]:
    key = "http_server_config"
    _expect_mapping(src, key, http)
    _reject_unknown(src, f"{key}.", http, _HTTP_KEYS)
    headers = http.get("headers") or {}
    _expect_mapping(src, f"{key}.headers", headers)
    out: dict[str, str] = {}
    for name, value in headers.items():
        where = f"{key}.headers.{name}"
        # As the toolkit: only these security headers, so none can break framing (Connection,
        # Content-Length) or inject another header (a CR or LF in the value).
        if name not in _HEADERS:
            raise ConfigError(src, where, f"cannot be configured (allowed: {', '.join(_HEADERS)})")
        text = _string(src, where, value)
        allowed = _HEADERS[name]
        if allowed is not None and text not in allowed:
            raise ConfigError(src, where, f"expected one of {', '.join(allowed)}, got {text!r}")
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise ConfigError(src, where, "control characters (CR, LF) are not allowed")
        out[str(name)] = text
    return out


def _users(src: str, users: Any) -> dict[str, bytes]:
    key = "basic_auth_users"
    _expect_mapping(src, key, users)
    out: dict[str, bytes] = {}
    for user, hashed in users.items():
        name = f"{key}.{user}"
        if not isinstance(hashed, str) or not _BCRYPT_HASH.match(hashed):
            raise ConfigError(
                src,
                name,
                "expected a bcrypt hash ($2y$ and a cost of 04 to 31, on one line), not a plain "
                "password; make one with "
                "`htpasswd -nBC 10 \"\" | tr -d ':\\n'` or python -c 'import bcrypt; "
                'print(bcrypt.hashpw(b"secret", bcrypt.gensalt()).decode())\'',
            )
        out[str(user)] = hashed.encode()
    return out
