"""The ``llm-exporter`` command line.

User mistakes (an unknown flag, a bad file) print one line and exit 2; they never show a
traceback. Subcommands for later parts register on the same group.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from prometheus_client import REGISTRY

from . import __version__, catalog
from .errors import ConfigError

if TYPE_CHECKING:
    from .replay.run import WorldResult

log = logging.getLogger("llm_exporter")

EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="llm-exporter")
@click.option(
    "--log-level",
    "--log.level",  # node_exporter's spelling, so the same flags work for both
    "log_level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log verbosity (logs go to stderr).",
)
def cli(log_level: str) -> None:
    """Prometheus metrics, alert rules and Grafana dashboards for LLM applications."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The SDK and its HTTP client log every request and retry at INFO: noise unless debugging.
    for noisy in ("httpx", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@cli.command()
@click.option(
    "--listen-address",
    "--web.listen-address",  # node_exporter's names, as aliases
    "listen_address",
    default=":9464",
    show_default=True,
    help="host:port to serve on; ':PORT' listens on all interfaces.",
)
@click.option(
    "--web-config",
    "--web.config.file",
    "web_config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TLS and basic-auth config in the Prometheus exporter-toolkit format.",
)
@click.option("--gpu/--no-gpu", default=True, show_default=True,
              help="GPU metrics from NVML. Without a driver or libnvidia-ml the exporter still "
              f"serves, with {catalog.GPU_NVML_UP.name} 0.")  # fmt: skip
@click.option("--gpu-refresh-interval", type=click.FloatRange(0, 3600, min_open=True),
              default=5.0, show_default=True, metavar="SECONDS",
              help="How often NVML is read, off the scrape thread; keep it at or below the "
              "scrape interval.")  # fmt: skip
@click.option("--gpu-timeout", type=click.FloatRange(0, 3600, min_open=True), default=5.0,
              show_default=True, metavar="SECONDS",
              help="A collection running longer than this counts as hung: scrapes serve the "
              f"last values and {catalog.GPU_NVML_UP.name} drops to 0.")  # fmt: skip
@click.option("--gpu-processes/--no-gpu-processes", default=False, show_default=True,
              help="Per-process GPU memory (labels pid and process_name).")  # fmt: skip
@click.option("--gpu-processes-max", type=click.IntRange(1, 1000), default=20,
              show_default=True, metavar="N",
              help="With --gpu-processes: at most N per GPU, the largest first.")  # fmt: skip
def serve(listen_address: str, web_config: Path | None, gpu: bool, gpu_refresh_interval: float,
          gpu_timeout: float, gpu_processes: bool, gpu_processes_max: int) -> None:  # fmt: skip
    """Serve /metrics, /healthz and a landing page until SIGTERM or Ctrl-C.

    With PROMETHEUS_MULTIPROC_DIR set, /metrics merges the files every process writes there:
    run it beside gunicorn or uvicorn workers to serve their metrics and the GPUs' together."""
    from . import multiprocess
    from .server import MetricsServer, parse_listen_address
    from .webconfig import load_web_config

    try:
        host, port = parse_listen_address(listen_address)
    except ValueError as exc:
        raise ConfigError("--listen-address", None, str(exc)) from None
    config = load_web_config(web_config) if web_config else None
    _check_environment(instrumenting=False)
    folder = multiprocess.directory()
    if folder is not None and not os.path.isdir(folder):
        # Else every read of the merged view fails and /metrics is almost empty, with exit 0.
        raise ConfigError(multiprocess.ENV, None, f"{folder} is not a folder: create it (empty) "
                          "before the workers and serve start")  # fmt: skip
    # Before anything slow (the GPU collector's first pass): a signal must never find the
    # default handler once the port is bound.
    stop = _stop_on_signals()
    _prepare_process_metrics()
    shared = multiprocess.active()
    registry = multiprocess.registry() if shared else REGISTRY
    if shared:
        log.info("multiprocess mode: merging the files in %s", multiprocess.directory())
    try:
        server = MetricsServer(registry, host, port, config)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {listen_address}: {exc.strerror or exc}"
        ) from None
    collector = None
    if gpu:
        from .gpu import GpuCollector, GpuOptions

        options = GpuOptions(refresh_interval=gpu_refresh_interval, timeout=gpu_timeout,
                             processes=gpu_processes, processes_max=gpu_processes_max)  # fmt: skip
        collector = GpuCollector(options=options)
        registry.register(collector)
        collector.start()
    try:
        _serve_until_signalled(server, stop)
    finally:
        if collector is not None:
            collector.stop()
        if shared:  # this process's live gauges (its build info) go with it
            multiprocess.mark_process_dead(os.getpid())


def _check_environment(instrumenting: bool) -> None:
    """The LLM_EXPORTER_* settings this command reads, checked before it starts: a bad one is
    one line and exit 2, not a traceback from deep inside the first scrape or call."""
    from .guard import GuardSettings

    readers: list[Callable[[], object]] = [GuardSettings.from_env]
    if instrumenting:
        from .cost.attribution import AttributionSettings
        from .cost.users import UserBudgetSettings

        readers += [AttributionSettings.from_env, UserBudgetSettings.from_env]
    for read in readers:
        try:
            read()
        except ValueError as exc:
            raise ConfigError("environment", None, str(exc)) from None


def _prepare_process_metrics() -> None:
    """In a process of our own: no _created series (they double the scrape and few read them),
    and the self-metrics present from the first scrape."""
    from prometheus_client import disable_created_metrics

    from .metrics import default_metrics

    disable_created_metrics()
    default_metrics()


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or Ctrl-C, so the main loop can shut down cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def _serve_until_signalled(server, stop: threading.Event) -> None:
    server.start()
    log.info("serving metrics on %s/metrics", server.url)
    while not stop.wait(0.5):
        pass
    server.stop()
    log.info("stopped")


def _incident_names() -> tuple[str, ...]:
    from .demo.incidents import INCIDENTS

    return tuple(INCIDENTS)


def _judge_sample_rate() -> float:
    from .track.judge import DEFAULT_SAMPLE_RATE

    return DEFAULT_SAMPLE_RATE


@cli.command()
@click.option("--listen-address", "--web.listen-address", "listen_address",
              default="127.0.0.1:9464", show_default=True,
              help="host:port for /metrics; loopback by default (':9464' for every "
              "interface).")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent workload threads.")  # fmt: skip
@click.option("--rate", type=click.FloatRange(0, min_open=True), default=8.0, show_default=True,
              help="Target LLM calls per second, all workers together.")  # fmt: skip
@click.option("--incident", type=click.Choice(sorted(_incident_names())),
              help="Stage this incident after --incident-after (see the README).")  # fmt: skip
@click.option("--incident-after", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Seconds of normal traffic before the incident.")  # fmt: skip
@click.option("--incident-for", type=click.FloatRange(0), default=120.0, show_default=True,
              help="Seconds the incident lasts.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(0, min_open=True),
              help="Stop after this many seconds (default: until Ctrl-C).")  # fmt: skip
@click.option("--seed", type=int, help="Seed the workload's choices, for a repeatable run.")
@click.option("--judge-sample-rate", type=click.FloatRange(0, 1), default=_judge_sample_rate(),
              show_default=True,
              help="Share of support answers sent to the LLM-as-a-judge.")  # fmt: skip
def demo(listen_address: str, workers: int, rate: float, incident: str | None,
         incident_after: float, incident_for: float, duration: float | None,
         seed: int | None, judge_sample_rate: float) -> None:  # fmt: skip
    """Run the simulator, an instrumented workload and /metrics: no API key or GPU needed."""
    from prometheus_client import disable_created_metrics

    from .demo import runner as demo_mod
    from .server import parse_listen_address

    try:
        host, port = parse_listen_address(listen_address)
    except ValueError as exc:
        raise ConfigError("--listen-address", None, str(exc)) from None
    _check_environment(instrumenting=True)
    disable_created_metrics()
    try:
        running = demo_mod.Demo(host, port, workers, rate, incident, incident_after,
                                incident_for, seed, judge_sample_rate)  # fmt: skip
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {listen_address}: {exc.strerror or exc}"
        ) from None
    demo_mod.run(running, duration, _stop_on_signals())


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                               "help_option_names": []})  # fmt: skip
@click.pass_context
def simulate(ctx: click.Context) -> None:
    """Run the OpenAI-compatible simulator alone (its own flags: simulate --help)."""
    from .simulator.cli import main as simulator_main

    sys.exit(simulator_main(ctx.args))


@cli.command("check-config")
@click.option(
    "--web-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A web config file (TLS, basic auth) to check.",
)
@click.option(
    "--models",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A model table (prices, context windows) to check, as merged over the shipped one.",
)
@click.option(
    "--thresholds",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A rule pack thresholds file to check.",
)
def check_config(web_config: Path | None, models: Path | None, thresholds: Path | None) -> None:
    """Check configuration files without starting anything; exit 2 on the first problem."""
    from .pricing import ModelTable
    from .webconfig import load_web_config

    checked: list[str] = []
    if web_config is not None:
        load_web_config(web_config)
        checked.append(str(web_config))
    if models is not None:
        ModelTable.load(models)
        checked.append(str(models))
    if thresholds is not None:
        _load_thresholds(thresholds)
        checked.append(str(thresholds))
    if not checked:
        raise click.UsageError("nothing to check: give at least one file option")
    for name in checked:
        click.echo(f"{name}: OK")


@cli.group()
def docs() -> None:
    """Generated reference documentation."""


@docs.command("generate")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Folder to write metrics.md and runbook.md into.",
)
def docs_generate(out: Path) -> None:
    """Write metrics.md (the metric reference) and runbook.md (one section per alert)."""
    from .docs import render_metrics_reference
    from .rulegen.runbook import render_runbook

    for name, text in (("metrics.md", render_metrics_reference()),
                       ("runbook.md", render_runbook(_load_thresholds(None)))):  # fmt: skip
        _write(out / name, text)


def _load_thresholds(path: Path | None):
    from .rulegen import thresholds
    from .rulegen.alerts import ALERTS

    return thresholds.load(path, ALERTS)


@cli.group()
def dashboards() -> None:
    """Grafana dashboards."""


@dashboards.command("generate")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Thresholds file: the budget line, alert thresholds, ignored error classes.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("grafana/dashboards"), show_default=True,
              help="Folder to write the dashboard JSON into.")  # fmt: skip
def dashboards_generate(config_file: Path | None, out: Path) -> None:
    """Write import-ready Grafana dashboard JSON: overview, cost, quality, GPUs."""
    from .dashboards import render

    for name, text in render(_load_thresholds(config_file)).items():
        _write(out / name, text)


def _world_names() -> tuple[str, ...]:
    from .replay.worlds import WORLDS

    return tuple(w.name for w in WORLDS)


def _replay_incident_names() -> tuple[str, ...]:
    from .replay.incidents import INCIDENTS

    return tuple(i.name for i in INCIDENTS)


@cli.command()
@click.option("--world", "worlds", multiple=True, type=click.Choice(_world_names()),
              help="Replay only this world (repeatable). Default: all.")  # fmt: skip
@click.option("--incident", "incidents", multiple=True, type=click.Choice(_replay_incident_names()),
              help="Stage only this incident (repeatable). Default: all.")  # fmt: skip
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worlds replayed at once (one promtool process each).")  # fmt: skip
@click.option("--rules-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("rules"), show_default=True,
              help="The rule files to replay; with a thresholds.yaml there, each world's rules "
              "are generated from it with the world's daily budget.")  # fmt: skip
@click.option("--days-history", type=click.IntRange(0, 7), default=None,
              help="Days of history before the normal week (default: each world's, 2); 7 fills "
              "the weekly baselines first, at about 1.2 times the run time.")  # fmt: skip
@click.option("--days-normal", type=click.IntRange(1, 7), default=None,
              help="Days of the scored normal week (default: 7).")  # fmt: skip
def replay(worlds: tuple[str, ...], incidents: tuple[str, ...], jobs: int, rules_dir: Path,
           days_history: int | None, days_normal: int | None) -> None:  # fmt: skip
    """Replay synthetic worlds (small to large apps: history, a normal week, every incident by
    day and at night) through the rule pack with promtool; print per world and in total the
    incidents detected, the time to detect, every alert of the normal week and any baseline
    reading NaN. Exit 1 when a target is missed."""
    from .replay.report import missed_targets, report, world_section
    from .replay.run import Options
    from .replay.run import replay as run_worlds
    from .replay.worlds import WORLDS

    chosen = [w for w in WORLDS if not worlds or w.name in worlds]
    options = Options(incidents, days_history, days_normal)

    def progress(r: WorldResult) -> None:
        # Each world's figures as soon as it is done: a full replay takes a while.
        click.echo("\n".join(world_section(r)) + "\n")
        sys.stdout.flush()

    results = run_worlds(chosen, rules_dir, options, jobs, progress)
    text, ok = report(results, sections=False)
    click.echo(text, nl=False)
    if not ok:
        why = "; ".join(missed_targets(results))
        click.echo(f"llm-exporter: replay missed a target: {why}", err=True)
        raise click.exceptions.Exit(1)


@cli.command()
@click.option("--inputs", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Sample inputs: a JSONL file, one JSON object a line.")  # fmt: skip
@click.option("--current", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The prompt template in use ({{ name }} placeholders).")  # fmt: skip
@click.option("--candidate", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The changed prompt template.")  # fmt: skip
@click.option("--model", default="gpt-4o-mini", show_default=True,
              help="Model to send both versions to, and to price them as.")  # fmt: skip
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True,
              help="Use the first N inputs.")  # fmt: skip
@click.option("--monthly-requests", type=click.IntRange(0), default=1_000_000, show_default=True,
              help="Traffic for the monthly effect.")  # fmt: skip
@click.option("--max-increase", type=click.FloatRange(0), metavar="PERCENT",
              help="Exit 1 when the cost per request rises by more than this.")  # fmt: skip
@click.option("--base-url", help="An OpenAI-compatible endpoint (its key in OPENAI_API_KEY). "
              "Default: the OpenAI API when that is set, else the simulator.")  # fmt: skip
@click.option("--simulator", "use_simulator", is_flag=True,
              help="Use the simulator even when OPENAI_API_KEY is set.")  # fmt: skip
@click.option("--max-output-tokens", type=click.IntRange(1),
              help="max_tokens of every request; the simulator answers exactly this many "
              "(default there: 100).")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Requests in flight at once.")  # fmt: skip
@click.option("--models", "models_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A model table merged over the shipped one, for prices.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def estimate(inputs: Path, current: Path, candidate: Path, model: str, limit: int,
             monthly_requests: int, max_increase: float | None, base_url: str | None,
             use_simulator: bool, max_output_tokens: int | None, concurrency: int,
             models_file: Path | None, as_json: bool) -> None:  # fmt: skip
    """Estimate the tokens and cost of a prompt change before it ships: both versions of the
    prompt, filled from sample inputs, sent to the simulator or a provider, and priced."""
    from .cost import estimate as est
    from .pricing import ModelTable

    templates = {est.CURRENT: est.load_template(current, "--current"),
                 est.CANDIDATE: est.load_template(candidate, "--candidate")}  # fmt: skip
    samples = est.read_inputs(inputs, limit)
    est.check_variables(samples, templates)
    for line in est.summary_lines(samples):
        click.echo(line, err=True)
    price = ModelTable.load(models_file).lookup(model)
    if price is None or not price.priced:
        raise ConfigError("--model", None, f"{model!r} has no price in the model table "
                          "(give one with --models FILE)")  # fmt: skip
    with _estimate_endpoint(base_url, use_simulator, max_output_tokens) as (client, endpoint):
        send = est.chat_sender(client, model, max_output_tokens)
        label = f"sending {2 * len(samples.samples)} requests"
        fatal = functools.partial(est.fatal_endpoint_error, endpoint=endpoint, model=model)
        with click.progressbar(length=2 * len(samples.samples), label=label,
                               file=sys.stderr) as bar:  # fmt: skip
            result = est.run(send, price, model, endpoint, samples, templates, concurrency,
                             bar.update, fatal)  # fmt: skip
    if not result.totals[est.CURRENT].requests:
        failed = ", ".join(f"{cls} {n}" for cls, n in result.failed.most_common())
        raise click.ClickException(f"every input had a failed request ({failed})")
    click.echo(est.as_json(result, monthly_requests) if as_json
               else est.report(result, monthly_requests), nl=False)  # fmt: skip
    change = result.cost_change * 100
    if max_increase is not None and change > max_increase:
        click.echo(f"llm-exporter: cost per request {change:+.1f}%, over --max-increase "
                   f"{max_increase:g}%", err=True)  # fmt: skip
        raise click.exceptions.Exit(1)


@contextlib.contextmanager
def _estimate_endpoint(
    base_url: str | None, use_simulator: bool, max_output_tokens: int | None
) -> Iterator[tuple[Any, str]]:
    """(openai client, its name for the report): a provider when one is configured, else the
    simulator in this process."""
    import openai

    key = os.environ.get("OPENAI_API_KEY")
    if base_url or (key and not use_simulator):
        client = openai.OpenAI(api_key=key or "none", base_url=base_url, timeout=120.0)
        yield client, base_url or "the OpenAI API"
        return
    from .cost.estimate import SIMULATOR_OUTPUT_TOKENS
    from .simulator import Simulator, SimulatorConfig

    config = SimulatorConfig(output_tokens=max_output_tokens or SIMULATOR_OUTPUT_TOKENS)
    with Simulator(config) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="simulator", max_retries=0)
        yield client, "the simulator"


@cli.group()
def rules() -> None:
    """The alert and recording rule pack."""


@rules.command("init")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the file here instead of standard output.")  # fmt: skip
def rules_init(out: Path | None) -> None:
    """Print a thresholds file with every knob at its default, to copy and edit."""
    from .rulegen.alerts import ALERTS
    from .rulegen.thresholds import render_defaults

    text = render_defaults(ALERTS)
    if out is None:
        click.echo(text, nl=False)
        return
    _write(out, text)


@rules.command("generate")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Thresholds file (default: every knob at its default).")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("rules"),
              show_default=True, help="Folder to write the rule files into.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["prometheus", "prometheusrule"]),
              default="prometheus", show_default=True,
              help="Prometheus rule files, or one Kubernetes PrometheusRule object.")  # fmt: skip
@click.option("--namespace", help="With prometheusrule: the object's metadata.namespace.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="With prometheusrule: a label on the object (repeatable); kube-prometheus-"
              "stack selects rules by its release: --label release=kube-prometheus-stack."
              )  # fmt: skip
def rules_generate(config_file: Path | None, out: Path, fmt: str, namespace: str | None,
                   labels: tuple[str, ...]) -> None:  # fmt: skip
    """Write the recording rules and the infra, app and quality alerts."""
    from .rulegen import render

    if fmt == "prometheus" and (namespace or labels):
        raise click.UsageError("--namespace and --label need --format prometheusrule")
    object_labels = dict(_k8s_label(text) for text in labels)
    if namespace is not None and not _K8S_NAME.fullmatch(namespace):
        raise ConfigError("--namespace", None, f"expected a Kubernetes namespace name, got "
                          f"{namespace!r}")  # fmt: skip
    config = _load_thresholds(config_file)
    files = (render.rule_files(config) if fmt == "prometheus"
             else render.prometheus_rule(config, namespace, object_labels))  # fmt: skip
    for name, text in files.items():
        _write(out / name, text)


_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_K8S_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?"
                            r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")  # fmt: skip
_K8S_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def _k8s_label(text: str) -> tuple[str, str]:
    """KEY=VALUE as Kubernetes accepts a label, or a one-line ConfigError."""
    key, sep, value = text.partition("=")
    if not sep or not _K8S_LABEL_KEY.fullmatch(key) or not _K8S_LABEL_VALUE.fullmatch(value):
        raise ConfigError("--label", None, f"expected KEY=VALUE valid as a Kubernetes label, "
                          f"got {text!r}")  # fmt: skip
    return key, value


def _write(path: Path, text: str) -> None:
    """Write a generated file, creating its folder; a failure is one line, not a traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps user mistakes to one line on stderr and exit code 2."""
    try:
        # Without standalone mode click returns an Exit's code instead of raising it.
        code = cli.main(args=argv, prog_name="llm-exporter", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"llm-exporter: error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except ConfigError as exc:
        click.echo(f"llm-exporter: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"llm-exporter: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(0)


if __name__ == "__main__":
    main()
