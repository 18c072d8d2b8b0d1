"""Malformed files of every kind a user hands llm-exporter: one line naming the file, exit 2,
never a traceback."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from prometheus_client import CollectorRegistry

from llm_exporter import instrument_openai
from llm_exporter.cli import main
from llm_exporter.cost.estimate import load_template, read_inputs
from llm_exporter.errors import ConfigError
from llm_exporter.metrics import Metrics
from llm_exporter.rulegen import thresholds
from llm_exporter.rulegen.alerts import ALERTS

from .conftest import run_cli


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("budgets: {daily_usd: .nan}\n", "budgets.daily_usd"),
        ("budgets: {user_daily_usd: .NaN}\n", "budgets.user_daily_usd"),
        ("budgets: {team_daily_usd: {search: .nan}}\n", "budgets.team_daily_usd.search"),
        ("budgets: {month_over_month: .inf}\n", "budgets.month_over_month"),
        ("alerts: {HighErrorRate: {threshold: .nan}}\n", "alerts.HighErrorRate.threshold"),
    ],
)
def test_nan_and_infinite_thresholds_are_refused(tmp_path: Path, content: str, key: str) -> None:
    # A NaN budget generated an alert that could never fire.
    path = tmp_path / "thresholds.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        thresholds.load(path, ALERTS)
    assert info.value.key == key and "finite" in info.value.problem


def test_an_unknown_ignored_error_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("ignored_error_types: [cancelled, canceled]\n")  # a typo counted as failures
    with pytest.raises(ConfigError) as info:
        thresholds.load(path, ALERTS)
    assert info.value.key == "ignored_error_types" and "'canceled'" in info.value.problem


# -- the corpus: every kind of file, every way to break it ----------------------------------------

VALID_TEXT = {
    "thresholds": "budgets:\n  daily_usd: 100\n",
    "models": "models:\n  m: {input: 1, source: s}\n",
    "web": "http_server_config:\n  headers: {X-Frame-Options: deny}\n",
}
FIRST_KEY = {"thresholds": "budgets", "models": "models", "web": "http_server_config"}
CHECK_FLAG = {"thresholds": "--thresholds", "models": "--models", "web": "--web-config"}
DEEP = 5000


def _generic(kind: str) -> dict[str, bytes]:
    """Breakage that does not depend on what the file is for (one entry per file kind)."""
    valid = VALID_TEXT[kind]
    key = FIRST_KEY[kind]
    return {
        "binary": bytes(range(256)),
        "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40)),
        "gzip": b"\x1f\x8b\x08\x00" + bytes(range(100, 160)),
        "invalid-utf8": f"{key}: ".encode() + b"\xff\xfe\xfa\n",
        "overlong-utf8": f"{key}: ".encode() + b"\xc0\xaf\n",
        "surrogate-utf8": f"{key}: ".encode() + b"\xed\xa0\x80\n",
        "truncated-utf8": f"{key}: ".encode() + b"caf\xc3",
        "latin1": f"{key}: ".encode() + b"caf\xe9\n",
        "utf16-bom": valid.encode("utf-16"),
        "utf16-le": valid.encode("utf-16-le"),
        "utf16-be-bom": b"\xfe\xff" + valid.encode("utf-16-be"),
        "utf32": valid.encode("utf-32"),
        "nul-byte": valid.encode().replace(b"\n", b"\x00\n", 1),
        "bell": f"{key}: \x07\n".encode(),
        "deep-list": f"{key}: {'[' * DEEP}{']' * DEEP}\n".encode(),
        "deep-map": f"{key}: {'{a: ' * DEEP}1{'}' * DEEP}\n".encode(),
        "deep-top": ("[" * DEEP + "]" * DEEP + "\n").encode(),
        "huge-int": f"{key}: {'9' * DEEP}\n".encode(),
        "huge-negative-int": f"{key}: -{'7' * DEEP}\n".encode(),
        "duplicate-top-key": (valid + valid).encode(),
        "duplicate-nested-key": f"{key}:\n  a: 1\n  a: 2\n".encode(),
        "unclosed-flow": f"{key}: [a, b\n".encode(),
        "unclosed-quote": f'{key}: "abc\n'.encode(),
        "tab-indent": f"{key}:\n\ta: 1\n".encode(),
        "two-documents": (valid + "---\n" + valid).encode(),
        "python-tag": f"{key}: !!python/object/apply:os.system [echo]\n".encode(),
        "unknown-alias": f"{key}: *nowhere\n".encode(),
        "top-scalar": b"42\n",
        "top-list": b"- a\n- b\n",
        "top-string": b"just some words\n",
    }


SPECIFIC: dict[str, dict[str, tuple[str, str]]] = {
    # name: (content, a key the message must name)
    "web": {
        "min-version-list": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                             "  min_version: [TLS12]\n", "tls_server_config.min_version"),
        "min-version-map": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                            "  min_version: {v: TLS12}\n", "tls_server_config.min_version"),
        "min-version-int": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                            "  min_version: 12\n", "tls_server_config.min_version"),
        "max-version-list": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                             "  max_version: [TLS13]\n", "tls_server_config.max_version"),
        "max-version-map": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                            "  max_version: {v: 1}\n", "tls_server_config.max_version"),
        "min-above-max": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                          "  min_version: TLS13\n  max_version: TLS12\n",
                          "tls_server_config.max_version"),
        "client-auth-list": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                             "  client_auth_type: [NoClientCert]\n",
                             "tls_server_config.client_auth_type"),
        "client-auth-map": ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                            "  client_auth_type: {a: b}\n", "tls_server_config.client_auth_type"),
        "cert-file-list": ("tls_server_config:\n  cert_file: [a]\n  key_file: b\n",
                           "tls_server_config.cert_file"),
        "key-file-map": ("tls_server_config:\n  cert_file: a\n  key_file: {b: c}\n",
                         "tls_server_config.key_file"),
        "tls-list": ("tls_server_config: [a]\n", "tls_server_config"),
        "tls-string": ("tls_server_config: on\n", "tls_server_config"),
        "http-list": ("http_server_config: [a]\n", "http_server_config"),
        "http2": ("http_server_config:\n  http2: true\n", "http_server_config.http2"),
        "headers-list": ("http_server_config:\n  headers: [X-Frame-Options]\n",
                         "http_server_config.headers"),
        "header-value-list": ("http_server_config:\n  headers: {X-Frame-Options: [deny]}\n",
                              "http_server_config.headers.X-Frame-Options"),
        "header-connection": ("http_server_config:\n  headers: {Connection: close}\n",
                              "http_server_config.headers.Connection"),
        "header-crlf": ('http_server_config:\n  headers:\n'
                        '    Strict-Transport-Security: "a\\r\\nX: y"\n',
                        "http_server_config.headers.Strict-Transport-Security"),
        "users-list": ("basic_auth_users: [alice]\n", "basic_auth_users"),
        "hash-list": ("basic_auth_users: {alice: [x]}\n", "basic_auth_users.alice"),
        "hash-map": ("basic_auth_users: {alice: {a: b}}\n", "basic_auth_users.alice"),
        "hash-int": ("basic_auth_users: {alice: 5}\n", "basic_auth_users.alice"),
        "hash-plain": ("basic_auth_users: {alice: secret}\n", "basic_auth_users.alice"),
        "hash-cost-31-plus": (f"basic_auth_users: {{alice: '$2y$32${'a' * 53}'}}\n",
                              "basic_auth_users.alice"),
        "unknown-top": ("listen_address: ':9464'\n", "listen_address"),
    },
    "thresholds": {
        "budget-list": ("budgets: {daily_usd: [1]}\n", "budgets.daily_usd"),
        "budget-map": ("budgets: {daily_usd: {a: 1}}\n", "budgets.daily_usd"),
        "budget-string": ("budgets: {daily_usd: lots}\n", "budgets.daily_usd"),
        "budget-nan": ("budgets: {daily_usd: .nan}\n", "budgets.daily_usd"),
        "budget-inf": ("budgets: {daily_usd: .inf}\n", "budgets.daily_usd"),
        "budget-overflow": ("budgets: {daily_usd: 1e400}\n", "budgets.daily_usd"),
        "budget-400-digits": (f"budgets: {{daily_usd: {'9' * 400}}}\n", "budgets.daily_usd"),
        "budgets-list": ("budgets: [1]\n", "budgets"),
        "team-budget-nan": ("budgets: {team_daily_usd: {a: .nan}}\n", "budgets.team_daily_usd.a"),
        "alerts-list": ("alerts: [HighErrorRate]\n", "alerts"),
        "alert-list": ("alerts: {HighErrorRate: [1]}\n", "alerts.HighErrorRate"),
        "alert-threshold-list": ("alerts: {HighErrorRate: {threshold: [1]}}\n",
                                 "alerts.HighErrorRate.threshold"),
        "alert-threshold-nan": ("alerts: {HighErrorRate: {threshold: .nan}}\n",
                                "alerts.HighErrorRate.threshold"),
        "alert-for-list": ("alerts: {HighErrorRate: {for: [5m]}}\n", "alerts.HighErrorRate.for"),
        "alert-severity-list": ("alerts: {HighErrorRate: {severity: [warning]}}\n",
                                "alerts.HighErrorRate.severity"),
        "alert-enabled-string": ("alerts: {HighErrorRate: {enabled: 'yes'}}\n",
                                 "alerts.HighErrorRate.enabled"),
        "selector-list": ("selectors: {app: [job]}\n", "selectors.app"),
        "selector-map": ("selectors: {app: {job: x}}\n", "selectors.app"),
        "prefix-list": ("prefix: [LLM]\n", "prefix"),
        "runbook-map": ("runbook_url: {a: b}\n", "runbook_url"),
        "aggregate-string": ("aggregate_by: job\n", "aggregate_by"),
        "aggregate-ints": ("aggregate_by: [1]\n", "aggregate_by"),
        "ignored-string": ("ignored_error_types: cancelled\n", "ignored_error_types"),
        "ignored-nested": ("ignored_error_types: [[cancelled]]\n", "ignored_error_types"),
        "ignored-unknown": ("ignored_error_types: [canceled]\n", "ignored_error_types"),
        "quiet-hour-24": ("quiet_hours: {start: 24}\n", "quiet_hours.start"),
        "interval-list": ("evaluation_interval: [1m]\n", "evaluation_interval"),
    },
    "models": {
        "models-list": ("models: [m]\n", ""),
        "entry-list": ("models:\n  m: [1]\n", "models.m"),
        "entry-string": ("models:\n  m: cheap\n", "models.m"),
        "input-list": ("models:\n  m: {input: [1], source: s}\n", "models.m.input"),
        "input-map": ("models:\n  m: {input: {a: 1}, source: s}\n", "models.m.input"),
        "input-string": ("models:\n  m: {input: '1', source: s}\n", "models.m.input"),
        "input-bool": ("models:\n  m: {input: true, source: s}\n", "models.m.input"),
        "input-nan": ("models:\n  m: {input: .nan, source: s}\n", "models.m.input"),
        "input-inf": ("models:\n  m: {input: .inf, source: s}\n", "models.m.input"),
        "input-negative-inf": ("models:\n  m: {input: -.inf, source: s}\n", "models.m.input"),
        "input-overflow": ("models:\n  m: {input: 1e400, source: s}\n", "models.m.input"),
        "input-400-digits": (f"models:\n  m: {{input: {'9' * 400}, source: s}}\n",
                             "models.m.input"),
        "output-nan": ("models:\n  m: {input: 1, output: .nan, source: s}\n", "models.m.output"),
        "window-string": ("models:\n  m: {context_window: '8k'}\n", "models.m.context_window"),
        "window-float": ("models:\n  m: {context_window: 1.5}\n", "models.m.context_window"),
        "window-list": ("models:\n  m: {context_window: [1]}\n", "models.m.context_window"),
        "source-list": ("models:\n  m: {input: 1, source: [a]}\n", "models.m.source"),
        "date-map": ("models:\n  m: {input: 1, source: s, date: {y: 1}}\n", "models.m.date"),
        "unknown-key": ("models:\n  m: {input: 1, source: s, price: 2}\n", "models.m.price"),
    },
}  # fmt: skip


def _corpus() -> list[tuple[str, str, bytes, str]]:
    """(file kind, case name, content, key the message names) for every malformed file."""
    cases = [(kind, name, content, "") for kind in CHECK_FLAG
             for name, content in _generic(kind).items()]  # fmt: skip
    cases += [(kind, name, text.encode(), key) for kind, specific in SPECIFIC.items()
              for name, (text, key) in specific.items()]  # fmt: skip
    return cases


CORPUS = _corpus()


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 130


@pytest.mark.parametrize(("kind", "name", "content", "key"), CORPUS,
                         ids=[f"{c[0]}-{c[1]}" for c in CORPUS])  # fmt: skip
def test_every_malformed_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, name: str, content: bytes,
    key: str,
) -> None:  # fmt: skip
    path = tmp_path / f"{name}.yml"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as info:
        main(["check-config", CHECK_FLAG[kind], str(path)])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert err.startswith(f"llm-exporter: error: {path}: {key}"), err


MODEL_CORPUS = [c for c in CORPUS if c[0] == "models"]


@pytest.mark.parametrize(("kind", "name", "content", "key"), MODEL_CORPUS,
                         ids=[c[1] for c in MODEL_CORPUS])  # fmt: skip
def test_llm_exporter_models_is_refused_at_set_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, name: str, content: bytes,
    key: str,
) -> None:  # fmt: skip
    path = tmp_path / f"{name}.yml"
    path.write_bytes(content)
    monkeypatch.setenv("LLM_EXPORTER_MODELS", str(path))
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x")
    with pytest.raises(ConfigError) as info:
        instrument_openai(client, metrics=Metrics(CollectorRegistry()))
    message = str(info.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"{path}: {key}"), message


@pytest.mark.parametrize(
    ("name", "content"),
    [("binary", bytes(range(256))), ("utf16", VALID_TEXT["web"].encode("utf-16")),
     ("deep", b"[" * DEEP + b"]" * DEEP), ("huge-int", b"basic_auth_users: " + b"9" * DEEP)],
)  # fmt: skip
def test_serve_with_a_malformed_web_config_in_a_real_process(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / f"{name}.yml"
    path.write_bytes(content)
    result = run_cli("serve", "--listen-address", "127.0.0.1:0", "--web-config", str(path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"llm-exporter: error: {path}: ")
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_estimate_templates_and_inputs_that_are_not_text(tmp_path: Path) -> None:
    template = tmp_path / "prompt.txt"
    template.write_bytes("hello {{ name }}".encode("utf-16"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_template(template, "--current")
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"name": "a"}\n' + "[" * DEEP + "]" * DEEP + f"\n{'9' * DEEP}\n")
    read = read_inputs(inputs, 10)
    assert [n for n, _ in read.samples] == [1]
    assert [n for n, _ in read.skipped] == [2, 3]
    assert read.skipped[0][1] == "not valid JSON (nested too deeply)"
