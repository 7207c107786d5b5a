"""S3 throughput and latency of a real ``overcast up --object-nodes 3``, measured with boto3.

Starts ``overcast --data-dir <tmp> up --port P --no-profile --object-nodes 3`` (P+1…P+3 free for the
object nodes), reads the admin keys from its banner, and measures:

- 1 KiB PUT and GET: ops/s and p50/p99 latency at 1 and 8 clients (clients spread over worker
  processes, one boto3 client per thread, retries off);
- a 64 MiB object PUT (streamed from a generated file) and GET (streamed to /dev/null; the sha256
  of one GET is compared with the file's), a few repetitions, MB/s (10^6 bytes/s); meanwhile the
  resident memory of the gateway and of every object node is sampled from ``/proc/<pid>/status``
  (VmRSS every 20 ms, VmHWM after the case, reset before it where the kernel allows) to show that
  memory stays flat;
- a 256 MiB multipart upload with boto3's ``upload_file`` (8 MiB parts), MB/s — 'not yet' while
  CreateMultipartUpload answers NotImplemented;
- a full paginated ListObjectsV2 walk of 10,000 keys (created first by many concurrent PUTs).

The server's CPU time (utime+stime of the gateway and the nodes) is recorded per case too.

Prints a table with the targets of the S3 issue beside each figure, then one line
``BENCH_JSON {...}``.  Never fails on time and always exits 0: an error is printed and set as
``error`` in the JSON.  The server is stopped with SIGINT (then SIGTERM, SIGKILL) in every case.

    .venv/bin/python bench/s3_bench.py [--quick] [--seconds 5] [--procs 4] [--reps 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import multiprocessing as mp
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REGION = "us-east-1"
KEY_ID_LINE = re.compile(r"access key id\s*:\s*(\S+)")
SECRET_LINE = re.compile(r"secret key\s*:\s*(\S+)")
OBJECT_NODES = 3
MiB = 1024 * 1024
SMALL = 1024
SMALL_BUCKET = "bench-small"
LARGE_BUCKET = "bench-large"
LIST_BUCKET = "bench-list"
GET_KEYS = 64          # distinct 1 KiB objects the GET case cycles through
FILL_THREADS = 8       # threads per worker process while creating the listing's keys
PAGE_CHUNK = MiB       # read size for streamed GETs

# Targets and reference figures from the S3 issue (3 replicas; Swift s3api measured with 1 replica).
TARGETS: dict[str, tuple[str, float | None, str]] = {
    # case: (comparison, value, text)
    "put_small_8": (">=", 400.0, ">= 400 PUT/s"),
    "put_large": (">=", 150.0, ">= 150 MB/s"),
    "get_large": (">=", 1000.0, ">= 1 GB/s"),
    "list": ("<=", 1.2, "<= 1.2 s"),
}
REFERENCE = {
    "put_small_8": "Swift s3api 150/s; bare uvicorn+fsync 580/s",
    "put_large": "Swift s3api 180 MB/s (8 clients); bare 250",
}


# -- the server ---------------------------------------------------------------------------------------------
def free_port(span: int) -> int:
    """A port P with P … P+span-1 all free on 127.0.0.1."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + span > 65535:
            continue
        try:
            for port in range(base + 1, base + span):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free range of ports")


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


class Server:
    """A real ``overcast up`` with object nodes in a child process; its output is drained into ``lines``."""

    def __init__(self, data_dir: Path, port: int, object_nodes: int) -> None:
        exe = Path(sys.executable).parent / "overcast"
        self.data_dir = data_dir
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.node_pids: dict[str, int] = {}
        self.proc = subprocess.Popen(
            [str(exe), "--data-dir", str(data_dir), "up", "--port", str(port), "--no-profile",
             "--object-nodes", str(object_nodes)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env={**os.environ, "HOME": str(data_dir)})
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 90.0) -> tuple[str, str]:
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
                    self.node_pids = self.find_nodes()
                    return key_id, secret
            time.sleep(0.05)
        raise RuntimeError("overcast up did not become ready in time:\n" + "\n".join(self.lines))

    def find_nodes(self) -> dict[str, int]:
        """The object node processes of this data directory, by node name (from their command lines)."""
        root = str(self.data_dir / "objectnodes") + os.sep
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            argv = _cmdline(int(entry.name))
            if "overcast.hostagents.objectnode" not in argv or "--root" not in argv:
                continue
            index = argv.index("--root") + 1
            if index < len(argv) and argv[index].startswith(root):
                found[Path(argv[index]).name] = int(entry.name)
        return dict(sorted(found.items()))

    def pids(self) -> dict[str, int]:
        return {"gateway": self.proc.pid, **self.node_pids}

    def stop(self, timeout: float = 20.0) -> int | None:
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
        # The nodes run in their own sessions: if the gateway could not stop them, this does (by pid).
        for name, pid in self.node_pids.items():
            if "overcast.hostagents.objectnode" not in _cmdline(pid):
                continue
            print(f"object node {name} (pid {pid}) outlived the gateway; stopping it", file=sys.stderr)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and "overcast.hostagents.objectnode" in _cmdline(pid):
                time.sleep(0.1)
            if "overcast.hostagents.objectnode" in _cmdline(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._reader.join(2)
        return self.proc.returncode


# -- server resources: memory and CPU -------------------------------------------------------------------------
def _status_kib(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """Server CPU seconds (user+system) spent between ``__init__`` and :meth:`done`, per process."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: _cpu_seconds(pid) for name, pid in pids.items()}

    def done(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            before, after = self.start[name], _cpu_seconds(pid)
            if before is not None and after is not None:
                out[name] = round(after - before, 3)
        return out


class MemorySampler:
    """Samples VmRSS of the server's processes while running; VmHWM is reset before (``clear_refs``
    5, where permitted) and read after, so it is the case's peak even between samples."""

    def __init__(self, pids: dict[str, int], interval: float = 0.02) -> None:
        self.pids = pids
        self.interval = interval
        self.before = {name: _status_kib(pid, "VmRSS") for name, pid in pids.items()}
        self.peak: dict[str, int] = {name: v for name, v in self.before.items() if v is not None}
        self.hwm_reset: dict[str, bool] = {}
        for name, pid in pids.items():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
                self.hwm_reset[name] = True
            except OSError:
                self.hwm_reset[name] = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name, pid in self.pids.items():
                value = _status_kib(pid, "VmRSS")
                if value is not None and value > self.peak.get(name, 0):
                    self.peak[name] = value

    def done(self) -> dict[str, dict[str, Any]]:
        self._stop.set()
        self._thread.join(2)
        out: dict[str, dict[str, Any]] = {}
        for name, pid in self.pids.items():
            before, peak = self.before.get(name), self.peak.get(name)
            hwm = _status_kib(pid, "VmHWM")
            out[name] = {
                "rss_before_mib": None if before is None else round(before / 1024, 1),
                "rss_peak_sampled_mib": None if peak is None else round(peak / 1024, 1),
                "vmhwm_mib": None if hwm is None else round(hwm / 1024, 1),
                "vmhwm_reset": self.hwm_reset.get(name, False),
                "growth_mib": None if before is None or peak is None
                else round((max(peak, hwm or 0) if self.hwm_reset.get(name) else peak) / 1024 - before / 1024, 1),
            }
        return out


# -- boto3 ----------------------------------------------------------------------------------------------------
def make_client(endpoint: str, key_id: str, secret: str, pool: int = 4) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=REGION)
    return session.client("s3", endpoint_url=endpoint, config=Config(
        retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=pool, tcp_keepalive=True,
        connect_timeout=10, read_timeout=120, s3={"addressing_style": "path"}))


def error_code(err: BaseException) -> str | None:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


# -- worker processes: small objects --------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One case for a worker process: ``kind`` 'put', 'get' or 'fill'."""

    kind: str
    threads: int
    worker: int
    payload: bytes = b""
    keys: tuple[str, ...] = ()       # 'get': keys to cycle through; 'fill': keys to create
    bucket: str = SMALL_BUCKET
    prefix: str = "small"            # 'put': keys are new under this prefix (no overwrites)


def _timed_loop(task: Task, client: Any, thread: int, start_at: float, warmup: float, seconds: float,
                out: dict[str, Any]) -> None:
    measure_from = start_at + warmup
    measure_to = measure_from + seconds
    latencies: list[float] = []
    errors: dict[str, int] = {}
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    perf = time.perf_counter
    i = 0
    offset = (task.worker * 997 + thread * 131) % max(1, len(task.keys))
    while True:
        now = time.time()
        if now >= measure_to:
            break
        t0 = perf()
        try:
            if task.kind == "put":
                client.put_object(Bucket=task.bucket, Key=f"{task.prefix}/{task.worker}-{thread}-{i}", Body=task.payload)
            else:
                key = task.keys[(offset + i) % len(task.keys)]
                body = client.get_object(Bucket=task.bucket, Key=key)["Body"].read()
                if len(body) != SMALL:
                    raise ValueError(f"GET returned {len(body)} bytes")
        except Exception as err:  # noqa: BLE001 — counted and reported, the run goes on
            if now >= measure_from:
                name = error_code(err) or type(err).__name__
                errors[name] = errors.get(name, 0) + 1
            i += 1
            continue
        i += 1
        if now >= measure_from:
            latencies.append((perf() - t0) * 1000.0)
    out["latencies"] = latencies
    out["errors"] = errors


def _fill(task: Task, client: Any, thread: int, out: dict[str, Any]) -> None:
    errors: dict[str, int] = {}
    done = 0
    for key in task.keys[thread::task.threads]:
        try:
            client.put_object(Bucket=task.bucket, Key=key, Body=task.payload)
            done += 1
        except Exception as err:  # noqa: BLE001 — counted and reported
            name = error_code(err) or type(err).__name__
            errors[name] = errors.get(name, 0) + 1
    out["latencies"] = []
    out["done"] = done
    out["errors"] = errors


def worker_main(conn: Connection, endpoint: str, key_id: str, secret: str) -> None:
    """Loop: receive a :class:`Task`, make the clients, say 'ready'; receive ``(start_at, warmup,
    seconds)``, run, send back latencies (ms), error counts and (fill) the number of keys written."""
    clients: list[Any] = []
    try:
        import boto3  # noqa: F401 — imported before 'ready' so the first case does not pay for it
        conn.send(("ready", None))
        while True:
            task = conn.recv()
            if task is None:
                break
            try:
                while len(clients) < task.threads:
                    client = make_client(endpoint, key_id, secret)
                    with contextlib.suppress(Exception):
                        client.head_bucket(Bucket=task.bucket)   # loads the client's lazily-read data
                    clients.append(client)
                conn.send(("ready", None))
                go = conn.recv()
                if go is None:
                    break
                start_at, warmup, seconds = go
                outs: list[dict[str, Any]] = [{} for _ in range(task.threads)]
                if task.kind == "fill":
                    threads = [threading.Thread(target=_fill, args=(task, clients[i], i, outs[i]))
                               for i in range(task.threads)]
                else:
                    threads = [threading.Thread(target=_timed_loop,
                                                args=(task, clients[i], i, start_at, warmup, seconds, outs[i]))
                               for i in range(task.threads)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                errors: dict[str, int] = {}
                for out in outs:
                    for name, count in out.get("errors", {}).items():
                        errors[name] = errors.get(name, 0) + count
                conn.send(("ok", {"latencies": [v for out in outs for v in out.get("latencies", [])],
                                  "errors": errors, "done": sum(out.get("done", 0) for out in outs)}))
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

    def run(self, tasks: list[Task], warmup: float, seconds: float) -> dict[str, Any]:
        """Run one task per worker at the same moment; their latencies, errors and counts merged."""
        conns = self.conns[:len(tasks)]
        for conn, task in zip(conns, tasks, strict=True):
            conn.send(task)
        for conn in conns:
            status, payload = conn.recv()
            if status != "ready":
                raise RuntimeError(f"a worker could not prepare its task: {payload}")
        start_at = time.time() + 0.05
        for conn in conns:
            conn.send((start_at, warmup, seconds))
        latencies: list[float] = []
        errors: dict[str, int] = {}
        failures: list[str] = []
        done = 0
        for conn in conns:
            status, payload = conn.recv()
            if status != "ok":
                failures.append(str(payload))
                continue
            latencies.extend(payload["latencies"])
            done += payload["done"]
            for name, count in payload["errors"].items():
                errors[name] = errors.get(name, 0) + count
        return {"latencies": latencies, "errors": errors, "failures": failures, "done": done}

    def split(self, clients: int) -> list[int]:
        procs = min(len(self.conns), clients)
        return [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(2)


# -- figures --------------------------------------------------------------------------------------------------
@dataclass
class Result:
    case: str          # a key of TARGETS, or another name
    label: str
    value: float | None
    unit: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "label": self.label, "value": self.value, "unit": self.unit,
                "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "note": self.note, **self.detail}


def percentile(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, math.ceil(pct / 100.0 * len(ordered)) - 1)]


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def verdict(case: str, value: float | None) -> str:
    target = TARGETS.get(case)
    if target is None or value is None:
        return ""
    op, bound, _ = target
    if bound is None:
        return ""
    ok = value >= bound if op == ">=" else value <= bound
    return "meets" if ok else "misses"


def render(results: list[Result]) -> str:
    header = (f"{'case':<34} {'figure':>10} {'unit':<7} {'p50 ms':>8} {'p99 ms':>8}  {'target':<13} "
              f"{'':<6}  reference / notes")
    lines = [header, "-" * len(header)]

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    for r in results:
        target = TARGETS.get(r.case, ("", None, ""))[2]
        notes = "; ".join(x for x in (REFERENCE.get(r.case, ""), r.note) if x)
        missing = r.value is None and r.note in ("not yet", "failed")
        if missing:
            notes = "; ".join(x for x in (REFERENCE.get(r.case, ""), str(r.detail.get("error", ""))) if x)
        figure = r.note if missing else num(r.value, ",.2f")
        unit = "" if missing else r.unit
        lines.append(f"{r.label:<34} {figure:>10} {unit:<7} {num(r.p50_ms, '.2f'):>8} {num(r.p99_ms, '.2f'):>8}  "
                     f"{target:<13} {verdict(r.case, r.value):<6}  {notes}")
    return "\n".join(lines)


def render_memory(memory: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = []
    for case, procs in memory.items():
        cells = []
        for name, m in procs.items():
            cells.append(f"{name} {m['rss_before_mib']}→{m['rss_peak_sampled_mib']} MiB "
                         f"(VmHWM {m['vmhwm_mib']}{'' if m['vmhwm_reset'] else ' since start'})")
        lines.append(f"  {case}: " + ", ".join(cells))
    return "\n".join(lines)


# -- the cases ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, server: Server, workers: Workers, client: Any, tmp: Path) -> None:
        self.args = args
        self.server = server
        self.workers = workers
        self.client = client
        self.tmp = tmp
        self.results: list[Result] = []
        self.memory: dict[str, dict[str, dict[str, Any]]] = {}

    def log(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    def add(self, result: Result) -> None:
        self.results.append(result)
        shown = result.note if result.value is None else f"{result.value:,.2f} {result.unit}"
        self.log(f"{result.label}: {shown}")

    def guarded(self, case: str, label: str, unit: str, fn: Any) -> None:
        """Run one case; an exception makes a 'failed' line, the other cases still run."""
        try:
            fn()
        except Exception as err:  # noqa: BLE001 — a benchmark reports, it does not stop at one case
            traceback.print_exc()
            self.add(Result(case, label, None, unit, note="failed",
                            detail={"error": f"{type(err).__name__}: {err}"[:500]}))

    # 1 KiB PUT/GET
    def small(self, kind: str, clients: int) -> None:
        keys = tuple(f"get/{i}" for i in range(GET_KEYS))
        payload = os.urandom(SMALL)
        tasks = [Task(kind, threads, worker, payload, keys if kind == "get" else (), prefix=f"small-{clients}")
                 for worker, threads in enumerate(self.workers.split(clients))]
        cpu = CpuMeter(self.server.pids())
        run = self.workers.run(tasks, self.args.warmup, self.args.seconds)
        server_cpu = cpu.done()
        ordered = sorted(run["latencies"])
        ops = len(ordered)
        errors = sum(run["errors"].values())
        note = f"{len(tasks)} procs"
        if errors or run["failures"]:
            note += f"; errors {run['errors']}" + (f"; worker failures {len(run['failures'])}" if run["failures"] else "")
        # server CPU per op includes the warm-up's requests; it is an estimate
        total_ops = ops * (self.args.seconds + self.args.warmup) / self.args.seconds if ops else 0
        per_op = {name: round(sec * 1000 / total_ops, 3) for name, sec in server_cpu.items()} if total_ops else {}
        self.add(Result(f"{kind}_small_{clients}", f"1 KiB {kind.upper()}, {clients} client{'s' * (clients > 1)}",
                        rounded(ops / self.args.seconds, 1), "ops/s", rounded(percentile(ordered, 50)),
                        rounded(percentile(ordered, 99)), note,
                        {"clients": clients, "processes": len(tasks), "ops": ops, "errors": run["errors"],
                         "failures": [f.strip().splitlines()[-1] for f in run["failures"]],
                         "mean_ms": rounded(statistics.fmean(ordered)) if ordered else None,
                         "max_ms": rounded(ordered[-1]) if ordered else None,
                         "server_cpu_s": server_cpu, "server_cpu_ms_per_op": per_op}))

    # 64 MiB PUT/GET
    def large(self, source: Path, digest: str) -> None:
        size = source.stat().st_size
        label_size = f"{size // MiB} MiB"
        put_times: list[float] = []
        mem = MemorySampler(self.server.pids())
        cpu = CpuMeter(self.server.pids())
        for rep in range(self.args.reps):
            with source.open("rb") as body:
                t0 = time.perf_counter()
                self.client.put_object(Bucket=LARGE_BUCKET, Key="large", Body=body)
                put_times.append(time.perf_counter() - t0)
            self.log(f"{label_size} PUT #{rep + 1}: {size / put_times[-1] / 1e6:,.1f} MB/s")
        put_cpu = cpu.done()
        self.memory[f"{label_size} PUT"] = mem.done()
        self.add(self._throughput("put_large", f"{label_size} PUT (single object)", size, put_times,
                                  {"server_cpu_s": put_cpu}))

        # one verifying GET (not timed), then timed GETs streamed to /dev/null
        sha = hashlib.sha256()
        got = 0
        for chunk in self.client.get_object(Bucket=LARGE_BUCKET, Key="large")["Body"].iter_chunks(PAGE_CHUNK):
            sha.update(chunk)
            got += len(chunk)
        intact = got == size and sha.hexdigest() == digest
        get_times: list[float] = []
        mem = MemorySampler(self.server.pids())
        cpu = CpuMeter(self.server.pids())
        with open(os.devnull, "wb") as sink:
            for rep in range(self.args.reps):
                t0 = time.perf_counter()
                n = 0
                for chunk in self.client.get_object(Bucket=LARGE_BUCKET, Key="large")["Body"].iter_chunks(PAGE_CHUNK):
                    sink.write(chunk)
                    n += len(chunk)
                get_times.append(time.perf_counter() - t0)
                if n != size:
                    raise RuntimeError(f"GET returned {n} of {size} bytes")
                self.log(f"{label_size} GET #{rep + 1}: {size / get_times[-1] / 1e6:,.1f} MB/s")
        get_cpu = cpu.done()
        self.memory[f"{label_size} GET"] = mem.done()
        result = self._throughput("get_large", f"{label_size} GET (single object)", size, get_times,
                                  {"server_cpu_s": get_cpu, "sha256_ok": intact})
        if not intact:
            result.note = (result.note + "; " if result.note else "") + "SHA256 MISMATCH"
        self.add(result)

    def _throughput(self, case: str, label: str, size: int, times: list[float], extra: dict[str, Any]) -> Result:
        rates = [size / t / 1e6 for t in times]
        note = f"median of {len(rates)}; best {max(rates):,.1f}" if len(rates) > 1 else ""
        return Result(case, label, rounded(statistics.median(rates), 1), "MB/s", note=note,
                      detail={"bytes": size, "seconds": [round(t, 4) for t in times],
                              "mb_s": [round(r, 1) for r in rates], **extra})

    # 256 MiB multipart
    def multipart(self, source: Path) -> None:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import ClientError

        size = source.stat().st_size
        label = f"{size // MiB} MiB multipart (8 MiB parts)"
        try:
            upload = self.client.create_multipart_upload(Bucket=LARGE_BUCKET, Key="multipart-probe")
        except ClientError as err:
            if error_code(err) in ("NotImplemented", "UnsupportedOperation"):
                self.add(Result("multipart", label, None, "MB/s", note="not yet",
                                detail={"error": error_code(err)}))
                return
            raise
        with contextlib.suppress(ClientError):
            self.client.abort_multipart_upload(Bucket=LARGE_BUCKET, Key="multipart-probe",
                                               UploadId=upload["UploadId"])
        config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
        times: list[float] = []
        mem = MemorySampler(self.server.pids())
        cpu = CpuMeter(self.server.pids())
        try:
            for rep in range(max(1, self.args.reps - 1)):
                t0 = time.perf_counter()
                self.client.upload_file(str(source), LARGE_BUCKET, "multipart", Config=config)
                times.append(time.perf_counter() - t0)
                self.log(f"{label} #{rep + 1}: {size / times[-1] / 1e6:,.1f} MB/s")
        except Exception as err:
            cause = err
            while cause is not None and error_code(cause) is None:
                cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
            if cause is not None and error_code(cause) in ("NotImplemented", "UnsupportedOperation"):
                mem.done()
                self.add(Result("multipart", label, None, "MB/s", note="not yet",
                                detail={"error": f"{error_code(cause)}: {cause}"[:300]}))
                return
            raise
        server_cpu = cpu.done()
        self.memory[label] = mem.done()
        head = self.client.head_object(Bucket=LARGE_BUCKET, Key="multipart")
        parts = math.ceil(size / (8 * MiB))
        etag = str(head.get("ETag", ""))
        result = self._throughput("multipart", label, size, times,
                                  {"server_cpu_s": server_cpu, "etag": etag, "size_ok": head["ContentLength"] == size})
        if head["ContentLength"] != size or not etag.strip('"').endswith(f"-{parts}"):
            result.note = (result.note + "; " if result.note else "") + \
                f"object reads back as {head['ContentLength']} bytes, ETag {etag}"
        self.add(result)

    # listing 10,000 keys
    def listing(self, count: int) -> None:
        keys = tuple(f"list/{i:05d}" for i in range(count))
        tasks = [Task("fill", FILL_THREADS, worker, b"x" * 16, keys[worker::len(self.workers.conns)], LIST_BUCKET)
                 for worker in range(len(self.workers.conns))]
        t0 = time.perf_counter()
        run = self.workers.run(tasks, 0.0, 0.0)
        fill_seconds = time.perf_counter() - t0
        fill_rate = run["done"] / fill_seconds if fill_seconds > 0 else None
        self.log(f"created {run['done']} keys in {fill_seconds:.1f} s ({fill_rate or 0:,.0f} PUT/s, "
                 f"{len(tasks) * FILL_THREADS} clients)")
        paginator = self.client.get_paginator("list_objects_v2")
        times: list[float] = []
        listed = 0
        cpu = CpuMeter(self.server.pids())
        for _ in range(self.args.reps):
            t0 = time.perf_counter()
            listed = 0
            pages = 0
            for page in paginator.paginate(Bucket=LIST_BUCKET):
                listed += len(page.get("Contents", ()))
                pages += 1
            times.append(time.perf_counter() - t0)
        server_cpu = cpu.done()
        note = f"{pages} pages; median of {len(times)}, best {min(times):.3f} s; " \
               f"filled at {fill_rate or 0:,.0f} PUT/s by {len(tasks) * FILL_THREADS} clients"
        if listed != run["done"] or run["errors"]:
            note += f"; listed {listed} of {run['done']} written, fill errors {run['errors']}"
        self.add(Result("list", f"list {count:,} keys (ListObjectsV2 walk)", rounded(statistics.median(times), 3),
                        "s", note=note,
                        detail={"keys": count, "written": run["done"], "listed": listed, "pages": pages,
                                "seconds": [round(t, 4) for t in times], "fill_seconds": round(fill_seconds, 2),
                                "fill_put_s": rounded(fill_rate, 1), "fill_errors": run["errors"],
                                "server_cpu_s": server_cpu}))

    def run(self) -> None:
        s3 = self.client
        for bucket in (SMALL_BUCKET, LARGE_BUCKET, LIST_BUCKET):
            s3.create_bucket(Bucket=bucket)
        for i in range(GET_KEYS):
            s3.put_object(Bucket=SMALL_BUCKET, Key=f"get/{i}", Body=os.urandom(SMALL))
        for kind in ("put", "get"):
            for clients in self.args.clients:
                self.guarded(f"{kind}_small_{clients}", f"1 KiB {kind.upper()}, {clients} clients", "ops/s",
                             lambda kind=kind, clients=clients: self.small(kind, clients))
        large = self.tmp / "large.bin"
        digest = write_random(large, self.args.large_mib * MiB)
        self.guarded("put_large", f"{self.args.large_mib} MiB PUT/GET", "MB/s", lambda: self.large(large, digest))
        large.unlink()
        mp_file = self.tmp / "multipart.bin"
        write_random(mp_file, self.args.multipart_mib * MiB)
        self.guarded("multipart", f"{self.args.multipart_mib} MiB multipart", "MB/s", lambda: self.multipart(mp_file))
        mp_file.unlink()
        self.guarded("list", f"list {self.args.keys:,} keys", "s", lambda: self.listing(self.args.keys))


def write_random(path: Path, size: int) -> str:
    """A file of ``size`` random bytes; its sha256."""
    sha = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(MiB, left))
            sha.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return sha.hexdigest()


# -- main -----------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 8 MiB objects, 24 MiB multipart, 1,000 keys, 1 s per case")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per small-object case "
                                                                     "(default 5, quick 1)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds (default 1, quick 0.3)")
    parser.add_argument("--clients", default="1,8", help="comma-separated client counts for 1 KiB cases (default 1,8)")
    parser.add_argument("--procs", type=int, default=4, help="client processes at most (default 4)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of large transfers and listings "
                                                               "(default 3, quick 2)")
    parser.add_argument("--large-mib", type=int, default=None, help="single-object size in MiB (default 64)")
    parser.add_argument("--multipart-mib", type=int, default=None, help="multipart object size in MiB (default 256)")
    parser.add_argument("--keys", type=int, default=None, help="keys to list (default 10,000)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.seconds = args.seconds if args.seconds is not None else (1.0 if quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 1.0)
    args.reps = max(1, args.reps if args.reps is not None else (2 if quick else 3))
    args.large_mib = args.large_mib or (8 if quick else 64)
    args.multipart_mib = args.multipart_mib or (24 if quick else 256)
    args.keys = args.keys or (1000 if quick else 10_000)
    args.clients = [int(c) for c in str(args.clients).split(",") if c.strip()]
    if not args.clients or min(args.clients) < 1 or args.procs < 1 or args.seconds <= 0:
        parser.error("clients, procs and seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    server: Server | None = None
    workers: Workers | None = None
    bench: Bench | None = None
    error: str | None = None
    exit_code: int | None = None
    with tempfile.TemporaryDirectory(prefix="overcast-s3bench-") as tmp:
        try:
            server = Server(Path(tmp) / "data", free_port(OBJECT_NODES + 1), OBJECT_NODES)
            key_id, secret = server.wait_ready()
            if len(server.node_pids) != OBJECT_NODES:
                print(f"  found {len(server.node_pids)} object node processes, expected {OBJECT_NODES}",
                      file=sys.stderr)
            workers = Workers(args.procs, server.endpoint, key_id, secret)
            bench = Bench(args, server, workers, make_client(server.endpoint, key_id, secret, pool=16), Path(tmp))
            bench.run()
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
    results = bench.results if bench is not None else []
    memory = bench.memory if bench is not None else {}
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    print()
    print(f"Overcast S3 — {OBJECT_NODES} object nodes, 3 replicas; {args.seconds:g} s per 1 KiB case after "
          f"{args.warmup:g} s warm-up; {os.cpu_count()} CPUs shared by clients and server; Python "
          f"{platform.python_version()}; 1-min load {load['before']:.2f} before / {load['after']:.2f} after"
          + ("; QUICK run: small sizes, targets are for the full run" if args.quick else ""))
    print(render(results))
    if memory:
        print("server memory (VmRSS before → sampled peak; VmHWM = the case's peak):")
        print(render_memory(memory))
    if error:
        print(f"benchmark error: {error}")
    if server is not None and (error or exit_code not in (0, 130, -signal.SIGINT)):
        print(f"server exit status {exit_code}; its last output lines:")
        print("\n".join("    " + line for line in server.lines[-20:]))
    print("BENCH_JSON " + json.dumps({
        "bench": "s3", "quick": args.quick, "seconds": args.seconds, "warmup": args.warmup, "reps": args.reps,
        "large_mib": args.large_mib, "multipart_mib": args.multipart_mib, "keys": args.keys,
        "object_nodes": OBJECT_NODES, "cpus": os.cpu_count(), "python": platform.python_version(),
        "loadavg_1m": load, "targets": {k: v[2] for k, v in TARGETS.items()},
        "results": [r.to_json() | {"verdict": verdict(r.case, r.value) or None} for r in results],
        "memory": memory, "error": error, "server_exit": exit_code,
    }, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
