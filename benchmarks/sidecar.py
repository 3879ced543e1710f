"""Start `intent-guard serve` in its own process on a free loopback port (for the benchmarks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sidecar(budget_ms: float, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """The server process and its base URL, once it accepts connections."""
    port = port or free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "intent_guard.cli", "serve", "--port", str(port), "--budget-ms", str(budget_ms)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the sidecar did not start")
