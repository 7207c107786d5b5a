"""Start, watch and stop the child processes of ``overcast up`` (object nodes now; host agents and
OVN daemons later).  A child that dies is restarted with backoff; stopping sends SIGTERM, then
SIGKILL after a grace period."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("overcast.supervisor")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when ``overcast up`` dies, however it dies (even
    SIGKILL), so no orphan keeps a port or writes after its supervisor is gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    health_url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    env: dict[str, str] = field(default_factory=dict)


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, child: Child) -> None:
        self.children.append(child)

    def _spawn(self, child: Child) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(child.log_path, "ab") as out:
            child.proc = subprocess.Popen(child.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env={**os.environ, **child.env}, start_new_session=True,
                                          preexec_fn=_die_with_parent)
        log.info("started %s (pid %s)", child.name, child.proc.pid)

    def start(self, timeout: float = 30.0) -> None:
        """Start every child and wait until each answers its health check."""
        for child in self.children:
            self._spawn(child)
        deadline = time.monotonic() + timeout
        for child in self.children:
            while child.health_url and not self._healthy(child):
                if child.proc is not None and child.proc.poll() is not None:
                    raise RuntimeError(f"{child.name} exited with {child.proc.returncode}; see {child.log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{child.name} did not become healthy; see {child.log_path}")
                time.sleep(0.1)
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    @staticmethod
    def _healthy(child: Child) -> bool:
        assert child.health_url is not None
        try:
            with urllib.request.urlopen(child.health_url, timeout=1) as resp:  # noqa: S310 (our own loopback URL)
                return bool(resp.status == 200)
        except OSError:
            return False

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for child in self.children:
                if child.proc is None or child.proc.poll() is None:
                    continue
                now = time.monotonic()
                if child.next_start == 0.0:
                    delay = min(2 ** min(child.restarts, 5), 30)
                    log.warning("%s exited with %s; restarting in %ss", child.name, child.proc.returncode, delay)
                    child.next_start = now + delay
                elif now >= child.next_start:
                    child.restarts += 1
                    child.next_start = 0.0
                    self._spawn(child)

    def stop(self, grace: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in running:
            assert child.proc is not None
            child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %ss; killing it", child.name, grace)
                child.proc.kill()
                child.proc.wait()
