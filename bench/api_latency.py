"""API latency and throughput of a real ``overcast up``: boto3 clients in several processes.

Starts ``overcast --data-dir <tmp> up --port <free> --no-profile``, reads the admin keys from its banner,
then, for EC2 DescribeRegions, EC2 DescribeInstanceTypes (first page) and STS GetCallerIdentity, measures
calls/s and p50/p90/p99 latency at each concurrency (default 1 and 16).  Concurrency is spread over worker
processes (one boto3 process tops out near 1,500 calls/s), each thread with its own boto3 client (retries
off).  A 'raw http' line replays one pre-signed DescribeRegions request over a keep-alive ``http.client``
connection: the server's own latency without boto3's (a replay is accepted while the signature's date is
within the server's clock-skew window, 15 minutes by default).

Prints a table, then one line ``BENCH_JSON {...}``.  Never fails on time and always exits 0: an error (the
server would not start, a worker failed) is printed and set as ``error`` in the JSON.

    .venv/bin/python bench/api_latency.py [--quick] [--seconds 5] [--concurrency 1,16] [--procs 4] [--raw-all]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing as mp
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REGION = "us-east-1"
KEY_ID_LINE = re.compile(r"access key id\s*:\s*(\S+)")
SECRET_LINE = re.compile(r"secret key\s*:\s*(\S+)")


@dataclass(frozen=True)
class Call:
    """One API call to measure: ``mode`` 'boto3' (a client method) or 'raw' (a replayed signed POST)."""

    label: str
    service: str
    method: str  # boto3 client method; for 'raw': the Action
    mode: str = "boto3"
    version: str = ""  # API version, 'raw' only


CALLS = [
    Call("ec2 DescribeRegions", "ec2", "describe_regions"),
    Call("ec2 DescribeInstanceTypes", "ec2", "describe_instance_types"),
    Call("sts GetCallerIdentity", "sts", "get_caller_identity"),
    Call("ec2 DescribeRegions (raw http)", "ec2", "DescribeRegions", "raw", "2016-11-15"),
]
EXTRA_RAW = [  # --raw-all: the server's own latency for the other calls too
    Call("ec2 DescribeInstanceTypes (raw http)", "ec2", "DescribeInstanceTypes", "raw", "2016-11-15"),
    Call("sts GetCallerIdentity (raw http)", "sts", "GetCallerIdentity", "raw", "2011-06-15"),
]


# -- the server ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A real ``overcast up`` in a child process; its output is drained into ``lines``."""

    def __init__(self, data_dir: Path, port: int) -> None:
        exe = Path(sys.executable).parent / "overcast"
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [str(exe), "--data-dir", str(data_dir), "up", "--port", str(port), "--no-profile"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env={**os.environ, "HOME": str(data_dir)})
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 60.0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        key_id = secret = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"overcast up exited with {self.proc.returncode}:\n" + "\n".join(self.lines))
            for line in list(self.lines):
                if key_id is None and (m := KEY_ID_LINE.search(line)):
                    key_id = m.group(1)
                if secret is None and (m := SECRET_LINE.search(line)):
                    secret = m.group(1)
            if key_id and secret:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return key_id, secret
            time.sleep(0.05)
        raise RuntimeError("overcast up did not become ready in time:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._reader.join(2)
        return self.proc.returncode


# -- worker processes ---------------------------------------------------------------------------------------
def _make_client(service: str, endpoint: str, key_id: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=REGION)
    return session.client(service, endpoint_url=endpoint, config=Config(
        retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=4, tcp_keepalive=True,
        connect_timeout=10, read_timeout=30))


def _signed_request(call: Call, endpoint: str, key_id: str, secret: str) -> tuple[bytes, dict[str, str]]:
    """Sign one form POST with botocore's own signer; it is replayed as is."""
    from urllib.parse import urlencode

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = urlencode({"Action": call.method, "Version": call.version}).encode()
    request = AWSRequest("POST", endpoint + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key_id, secret), call.service, REGION).add_auth(request)
    return body, {name: str(value) for name, value in request.headers.items()}


class _Caller:
    """One thread's way to make a call: a boto3 client or a keep-alive connection with a signed request."""

    def __init__(self, call: Call, endpoint: str, key_id: str, secret: str) -> None:
        self.call = call
        self.endpoint = endpoint
        if call.mode == "raw":
            self.body, self.headers = _signed_request(call, endpoint, key_id, secret)
            self.conn = self._connect()
        else:
            self.client = _make_client(call.service, endpoint, key_id, secret)
            self.method = getattr(self.client, call.method)

    def _connect(self) -> http.client.HTTPConnection:
        host, _, port = self.endpoint.removeprefix("http://").partition(":")
        return http.client.HTTPConnection(host, int(port), timeout=30)

    def __call__(self) -> None:
        if self.call.mode != "raw":
            self.method()
            return
        try:
            self.conn.request("POST", "/", self.body, self.headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = self._connect()
            raise
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")


def _run_thread(caller: _Caller, start_at: float, warmup: float, seconds: float,
                out: dict[str, Any]) -> None:
    measure_from = start_at + warmup
    measure_to = measure_from + seconds
    latencies: list[float] = []
    errors: dict[str, int] = {}
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    perf = time.perf_counter
    while True:
        now = time.time()
        if now >= measure_to:
            break
        t0 = perf()
        try:
            caller()
        except Exception as err:  # noqa: BLE001 — counted and reported, the run goes on
            if now >= measure_from:
                name = type(err).__name__
                errors[name] = errors.get(name, 0) + 1
            continue
        if now >= measure_from:
            latencies.append((perf() - t0) * 1000.0)
    out["latencies"] = latencies
    out["errors"] = errors


def worker_main(conn: Connection, endpoint: str, key_id: str, secret: str) -> None:
    """Loop: receive ``(call, threads)``, build the callers, say 'ready'; receive ``(start_at, warmup,
    seconds)``, run, send back the latencies (ms) and error counts."""
    callers: dict[tuple[Call, int], _Caller] = {}
    try:
        import boto3  # noqa: F401 — imported before 'ready' so the first case does not pay for it
        conn.send(("ready", None))
        while True:
            msg = conn.recv()
            if msg is None:
                break
            call, threads = msg
            try:
                for index in range(threads):
                    if (call, index) not in callers:
                        callers[(call, index)] = _Caller(call, endpoint, key_id, secret)
                        with contextlib.suppress(Exception):
                            callers[(call, index)]()  # loads the client's lazily-read data
                conn.send(("ready", None))
                go = conn.recv()
                if go is None:
                    break
                start_at, warmup, seconds = go
                outs: list[dict[str, Any]] = [{} for _ in range(threads)]
                workers = [threading.Thread(target=_run_thread,
                                            args=(callers[(call, i)], start_at, warmup, seconds, outs[i]))
                           for i in range(threads)]
                for thread in workers:
                    thread.start()
                for thread in workers:
                    thread.join()
                latencies = [value for out in outs for value in out.get("latencies", [])]
                errors: dict[str, int] = {}
                for out in outs:
                    for name, count in out.get("errors", {}).items():
                        errors[name] = errors.get(name, 0) + count
                conn.send(("ok", {"latencies": latencies, "errors": errors}))
            except Exception:  # noqa: BLE001 — reported by the parent
                conn.send(("error", traceback.format_exc()))
    except (EOFError, KeyboardInterrupt):
        pass


class Workers:
    def __init__(self, count: int, endpoint: str, key_id: str, secret: str) -> None:
        ctx = mp.get_context("spawn")  # the parent has threads; clients are built in the child
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(count):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child_end, endpoint, key_id, secret), daemon=True)
            proc.start()
            child_end.close()
            self.conns.append(parent_end)
            self.procs.append(proc)
        for conn in self.conns:
            if not conn.poll(120):
                raise RuntimeError("a worker process did not start")
            conn.recv()

    def run(self, call: Call, concurrency: int, warmup: float, seconds: float) -> dict[str, Any]:
        procs = min(len(self.conns), concurrency)
        split = [concurrency // procs + (1 if i < concurrency % procs else 0) for i in range(procs)]
        for conn, threads in zip(self.conns, split, strict=False):
            conn.send((call, threads))
        for conn in self.conns[:procs]:
            status, payload = conn.recv()
            if status != "ready":
                raise RuntimeError(f"a worker could not prepare {call.label}: {payload}")
        start_at = time.time() + 0.05  # every worker starts its threads at the same moment
        for conn in self.conns[:procs]:
            conn.send((start_at, warmup, seconds))
        latencies: list[float] = []
        errors: dict[str, int] = {}
        failures: list[str] = []
        for conn in self.conns[:procs]:
            status, payload = conn.recv()
            if status != "ok":
                failures.append(str(payload))
                continue
            latencies.extend(payload["latencies"])
            for name, count in payload["errors"].items():
                errors[name] = errors.get(name, 0) + count
        return summarize(call, concurrency, procs, seconds, latencies, errors, failures)

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(2)


# -- figures ------------------------------------------------------------------------------------------------
def percentile(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    rank = max(0, math.ceil(pct / 100.0 * len(ordered)) - 1)
    return ordered[rank]


def summarize(call: Call, concurrency: int, procs: int, seconds: float, latencies: list[float],
              errors: dict[str, int], failures: list[str]) -> dict[str, Any]:
    ordered = sorted(latencies)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "call": call.label, "service": call.service, "client": call.mode, "concurrency": concurrency,
        "processes": procs, "seconds": seconds, "calls": len(ordered),
        "rps": round(len(ordered) / seconds, 1) if seconds > 0 else None,
        "p50_ms": rounded(percentile(ordered, 50)), "p90_ms": rounded(percentile(ordered, 90)),
        "p99_ms": rounded(percentile(ordered, 99)),
        "mean_ms": rounded(sum(ordered) / len(ordered)) if ordered else None,
        "max_ms": rounded(ordered[-1]) if ordered else None,
        "errors": sum(errors.values()), "error_kinds": errors, "failures": failures,
    }


def render(results: list[dict[str, Any]]) -> str:
    header = f"{'call':<38} {'conc':>4} {'procs':>5} {'calls':>7} {'calls/s':>9} " \
             f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}"
    lines = [header, "-" * len(header)]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for r in results:
        lines.append(f"{r['call']:<38} {r['concurrency']:>4} {r['processes']:>5} {r['calls']:>7} "
                     f"{(r['rps'] or 0):>9.1f} {ms(r['p50_ms']):>8} {ms(r['p90_ms']):>8} {ms(r['p99_ms']):>8} "
                     f"{ms(r['max_ms']):>8} {r['errors']:>6}")
        for failure in r["failures"]:
            lines.append(f"    worker failure: {failure.strip().splitlines()[-1]}")
        if r["error_kinds"]:
            lines.append(f"    errors: {r['error_kinds']}")
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per case (default 5)")
    parser.add_argument("--quick", action="store_true", help="1 s per case and a shorter warm-up")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per case (default 1, quick 0.3)")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated concurrencies (default 1,16)")
    parser.add_argument("--procs", type=int, default=4, help="client processes at most (default 4)")
    parser.add_argument("--no-raw", action="store_true", help="skip the 'raw http' floor line")
    parser.add_argument("--raw-all", action="store_true", help="a 'raw http' line for every call, not only "
                                                                 "DescribeRegions")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 1.0
    if args.warmup is None:
        args.warmup = 0.3 if args.quick else 1.0
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    if not args.concurrency or min(args.concurrency) < 1 or args.procs < 1:
        parser.error("concurrency and procs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    calls = [c for c in CALLS + (EXTRA_RAW if args.raw_all else []) if not (args.no_raw and c.mode == "raw")]
    results: list[dict[str, Any]] = []
    server: Server | None = None
    workers: Workers | None = None
    error: str | None = None
    exit_code: int | None = None
    with tempfile.TemporaryDirectory(prefix="overcast-bench-") as tmp:
        try:
            server = Server(Path(tmp), free_port())
            key_id, secret = server.wait_ready()
            workers = Workers(min(args.procs, max(args.concurrency)), server.endpoint, key_id, secret)
            for call in calls:
                for concurrency in args.concurrency:
                    result = workers.run(call, concurrency, args.warmup, args.seconds)
                    results.append(result)
                    print(f"  measured {call.label} at concurrency {concurrency}: {result['rps']} calls/s, "
                          f"p50 {result['p50_ms']} ms", file=sys.stderr, flush=True)
        except Exception as err:  # noqa: BLE001 — a benchmark reports, it does not fail the build on errors
            error = f"{type(err).__name__}: {err}"
            traceback.print_exc()
        except KeyboardInterrupt:
            error = "interrupted"
        finally:
            if workers is not None:
                workers.close()
            if server is not None:
                exit_code = server.stop()
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    print()
    print(f"Overcast API latency — {args.seconds:g} s per case after {args.warmup:g} s warm-up, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"1-min load {load['before']:.2f} before / {load['after']:.2f} after (clients + server share the CPUs)")
    print(render(results))
    target = next((r for r in results if r["client"] == "boto3" and r["concurrency"] == 1
                   and r["call"] == "ec2 DescribeRegions"), None)
    if target is not None and target["p50_ms"] is not None:
        verdict = "meets" if target["p50_ms"] < 3.0 else "misses"
        print(f"target p50 < 3 ms at concurrency 1 (boto3 DescribeRegions): {target['p50_ms']:.2f} ms — {verdict}")
    if error:
        print(f"benchmark error: {error}")
    if server is not None and (error or exit_code not in (0, 130, -signal.SIGINT)):
        print(f"server exit status {exit_code}; its last output lines:")
        print("\n".join("    " + line for line in server.lines[-20:]))
    print("BENCH_JSON " + json.dumps({
        "bench": "api_latency", "seconds": args.seconds, "warmup": args.warmup, "cpus": os.cpu_count(),
        "python": platform.python_version(), "loadavg_1m": load, "results": results, "error": error, "server_exit": exit_code,
    }, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
