"""The Lambda package: its size, what fills it, and the cold start of the code as Lambda runs it.

`chalice package` and the release step (`make package`'s two steps) write deployment.zip into a temporary
directory; its entries are summed by top-level folder. `import app`, and `import app` + building the adapters,
are then timed inside fresh interpreters that see only the unpacked package, the standard library (`python -S`)
and, after them, boto3 and botocore as the runtime provides them (Lambda's /var/task, then the runtime's
libraries), writing no bytecode (/var/task is read-only): once with the .pyc files the release step adds, once
without them (what every cold start compiled before).

botocore is left to the runtime (infra/release.py says why); boto3 was never packaged.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000

PROGRAM = """
import sys, time
sys.path[:0] = [{root!r}, {runtime!r}]
started = time.perf_counter()
{statement}
print(time.perf_counter() - started)
"""
STATEMENTS = {
    "import_app": "import app",
    # build() makes the services on first use: a booking's, with pynamodb and botocore, is what the first request builds
    "import_app_and_build_adapters": "import app\nfrom chalicelib import container\ncontainer.build().booking",
}
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer")
MERGE = ("--merge-template", "template.yaml", "--stage")


def build(out: Path, stage: str = "dev") -> Path:
    from infra.release import release

    chalice = str(Path(sys.executable).parent / "chalice")
    subprocess.run(
        [chalice, "package", "--pkg-format", "cloudformation", "--template-format", "yaml", *MERGE, stage, str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    release(out, "bench")
    return out / "deployment.zip"


def sizes(package: Path) -> dict[str, Any]:
    zipped: Counter[str] = Counter()
    unzipped: Counter[str] = Counter()
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            top = info.filename.split("/")[0]
            top = top.split("-")[0] if top.endswith(".dist-info") else top
            zipped[top] += info.compress_size
            unzipped[top] += info.file_size
    return {
        "zip_file_mb": round(package.stat().st_size / MB, 1),
        "unzipped_mb": round(sum(unzipped.values()) / MB, 1),
        "largest": {
            name: {"zipped_mb": round(size / MB, 1), "unzipped_mb": round(unzipped[name] / MB, 1)}
            for name, size in zipped.most_common(6)
        },
        "all": sorted(zipped),
    }


def runtime_libraries(into: Path) -> Path:
    """boto3 and botocore as the runtime has them (installed, with their bytecode): this venv's, linked."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    into.mkdir()
    for name in RUNTIME_LIBRARIES:
        (into / name).symlink_to(site / name)
    return into


def timed(root: Path, runtime: Path, statement: str, bytecode: bool) -> float:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if not bytecode:  # the package's .pyc files are looked for under an empty prefix: compiled from source
        env["PYTHONPYCACHEPREFIX"] = str(root.parent / "no-bytecode")
    program = PROGRAM.format(root=str(root), runtime=str(runtime), statement=statement)
    done = subprocess.run(
        [sys.executable, "-S", "-c", program],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{statement!r} failed from the package: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def bench_package(runs: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-package-") as scratch:
        package = build(Path(scratch) / "dist")
        result = sizes(package)
        unpacked = Path(scratch) / "task"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(unpacked)
        runtime = runtime_libraries(Path(scratch) / "runtime")
        samples: dict[str, list[float]] = {}
        for _ in range(runs):  # interleaved, so the machine's load moves all of them alike
            for name, statement in STATEMENTS.items():
                for bytecode in (True, False):
                    key = f"{name}{'' if bytecode else '_without_bytecode'}"
                    samples.setdefault(key, []).append(timed(unpacked, runtime, statement, bytecode))
    result["botocore_in_package"] = "botocore" in result["all"]
    result["boto3_in_package"] = "boto3" in result.pop("all")
    result["runs"] = runs
    for key, values in samples.items():
        result[f"from_package_{key}_median_ms"] = round(statistics.median(values) * 1000, 1)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(bench_package(), indent=2))
