"""Cold start: what a Lambda container's init pays, timed inside fresh interpreters.

Each sample is one new Python process that times only its statement with `perf_counter` (interpreter start-up
and teardown are not in it, as they are not in Lambda's init of our code). The statements are interleaved run by
run (boto3, app, app + adapters, then again), so a change in the machine's load shifts all of them alike instead
of deciding the ratio.

- `import boto3`: the baseline, what any Python Lambda that talks to AWS pays;
- `import app`: the entry point (goal: at most 1.3 x boto3);
- `import app` and `container.build()`: what the first request adds before its own work (goal: at most 2 x
  boto3). `build()` reads and checks the settings; each service and adapter is made when a request first needs
  it, so this no longer includes pynamodb and botocore;
- `import app`, `container.build()`, and what a booking needs before its own calls: the booking's services and
  adapters (pynamodb and botocore with them) and its request and response models (pydantic): the first booking
  request's cost before it calls DynamoDB, shown next to the goal's figure.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

STATEMENTS = {
    "import_boto3": "import boto3",
    "import_app": "import app",
    "import_app_and_build_adapters": "import app\nfrom chalicelib import container\ncontainer.build()",
    "import_app_and_wire_a_booking": (
        "import app\nfrom chalicelib import container\nfrom chalicelib.api import schemas\n"
        "container.build().booking\nschemas.BookingIn, schemas.AppointmentOut"
    ),
}

PROGRAM = """
import time
started = time.perf_counter()
{statement}
print(time.perf_counter() - started)
"""


def timed_in_fresh_process(statement: str, env: dict[str, str] | None = None) -> float:
    """Seconds the statement took inside a new interpreter, as that interpreter measured it."""
    program = PROGRAM.format(statement=statement)
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def compile_sources() -> None:
    """Bytecode for our modules first (as the installed libraries have theirs): a run with
    PYTHONDONTWRITEBYTECODE set would otherwise time compiling our sources in every sample."""
    compileall.compile_file(str(ROOT / "app.py"), quiet=1)
    compileall.compile_dir(str(ROOT / "chalicelib"), quiet=1)


def bench_cold_start(runs: int) -> dict[str, Any]:
    compile_sources()
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    traced: list[float] = []
    for _ in range(runs):
        for name, statement in STATEMENTS.items():
            samples[name].append(timed_in_fresh_process(statement))
        # In Lambda with active tracing the X-Ray SDK loads too (and patches botocore): shown, not part of a goal.
        traced.append(timed_in_fresh_process("import app", {"LAMBDA_TASK_ROOT": str(ROOT)}))
    median = {name: statistics.median(values) for name, values in samples.items()}
    boto3 = median["import_boto3"]
    return {
        "runs": runs,
        "how": "in-process perf_counter around the statement, fresh interpreter per sample, statements interleaved",
        "import_boto3_median_ms": round(boto3 * 1000, 1),
        "import_app_median_ms": round(median["import_app"] * 1000, 1),
        "ratio_app_to_boto3": round(median["import_app"] / boto3, 3),
        "goal": "<= 1.3",
        "import_app_and_build_adapters_median_ms": round(median["import_app_and_build_adapters"] * 1000, 1),
        "ratio_first_request_to_boto3": round(median["import_app_and_build_adapters"] / boto3, 3),
        "goal_first_request": "<= 2",
        "import_app_and_wire_a_booking_median_ms": round(median["import_app_and_wire_a_booking"] * 1000, 1),
        "ratio_first_booking_to_boto3": round(median["import_app_and_wire_a_booking"] / boto3, 3),
        "import_app_with_xray_tracing_median_ms": round(statistics.median(traced) * 1000, 1),
    }


if __name__ == "__main__":
    import json

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    print(json.dumps(bench_cold_start(int(sys.argv[1]) if len(sys.argv) > 1 else 15), indent=2))
