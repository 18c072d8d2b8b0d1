"""What OpenLIT writes on stdout: openlit.init() on its own against use_openlit().

    uv run python scripts/openlit_stdout.py [--calls 50]

Each set-up runs in its own process (OpenLIT patches for good) and makes the same chat calls
through the real openai SDK to the simulator; the table is the bytes and lines each process
printed. openlit.init() alone, with no OpenTelemetry provider set and no OTLP endpoint, exports
spans, events and logs to the console.
"""

import argparse
import subprocess
import sys

WORKER = """
import sys
import openai
from llm_exporter.simulator import Simulator, SimulatorConfig
if sys.argv[1] == "openlit.init()":
    import openlit
    openlit.init(disable_events=False)
else:
    import llm_exporter
    llm_exporter.use_openlit(disable_events=False, capture_message_content=True)
with Simulator(SimulatorConfig(output_tokens=16)) as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="x", max_retries=0)
    for _ in range(int(sys.argv[2])):
        client.chat.completions.create(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "hi"}])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    print(f"{args.calls} chat calls, events and message content on in both\n")
    print("| set-up | bytes on stdout | lines on stdout |")
    print("|---|---:|---:|")
    for mode in ("openlit.init()", "llm_exporter.use_openlit()"):
        out = subprocess.run([sys.executable, "-c", WORKER, mode, str(args.calls)],
                             capture_output=True, check=True, timeout=600).stdout  # fmt: skip
        lines = len(out.splitlines())
        print(f"| `{mode}` | {len(out):,} | {lines:,} |")


if __name__ == "__main__":
    main()
