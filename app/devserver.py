"""Start the real server in a child process and wait until it is ready (tests and bench/ use it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`headscope serve --no-prepare` on a free port; `with ServerProcess(...) as server:` gives its base URL."""

    def __init__(self, env: dict[str, str] | None = None, cwd: Path | None = None, timeout_s: float = 180):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HEADSCOPE_HOST": "127.0.0.1", "HEADSCOPE_PORT": str(self.port), **(env or {})}
        self.cwd = cwd or Path(__file__).resolve().parents[1]
        self.timeout_s = timeout_s
        self.log = tempfile.NamedTemporaryFile("w+", prefix="headscope-server-", suffix=".log", delete=False)
        self.process: subprocess.Popen | None = None
        self.ready_after_s: float | None = None

    def start(self) -> ServerProcess:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--no-prepare"],
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    self.ready_after_s = time.perf_counter() - started
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready after {self.timeout_s} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
