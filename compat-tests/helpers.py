"""Driving a real ``overcast up`` process and talking to it the way unmodified clients do.

Nothing here fakes a part of Overcast: :class:`OvercastProcess` runs the installed ``overcast``
script, requests go over real sockets, and errors are decoded with botocore's own parsers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

BIN = Path(sys.executable).parent
OVERCAST = BIN / "overcast"
AWS_V1 = BIN / "aws"                 # PyPI AWS CLI v1 (awscli in the venv)
AWS_V2 = Path("/usr/bin/aws")        # Debian's AWS CLI v2 (predates endpoint_url in profiles)
REGION = "us-east-1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
API_VERSIONS = {"ec2": "2016-11-15", "sts": "2011-06-15"}
_BOTOCORE = botocore.session.get_session()


OBJECT_NODES = 3   # the tests always run three object nodes (ports P+1…P+3 after the gateway's P)
# <data-dir>/overcast.toml of the test cloud: the object loops run every 2 s so durability tests can
# watch them work.  The sweeper's grace stays above the few ms between a PUT's replica writes and its
# metadata commit: at 0 it could sweep the data of an upload in flight.
OVERCAST_TOML = """\
replicator_interval = 2
sweeper_interval = 2
sweeper_grace = 5
auditor_interval = 2
"""


def free_port(span: int = 1) -> int:
    """A port P such that P … P+span-1 are all free on 127.0.0.1."""
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
    raise RuntimeError("no free port range")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell for a user whose home is ``home``: no AWS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


class OvercastProcess:
    """``overcast --data-dir D up --port P`` in the foreground, as an operator would run it."""

    def __init__(self, data_dir: Path, home: Path, port: int) -> None:
        self.data_dir = data_dir
        self.home = home
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers: list[threading.Thread] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def start(self) -> None:
        self.stdout, self.stderr = [], []
        self.proc = subprocess.Popen(
            [str(OVERCAST), "--data-dir", str(self.data_dir), "up", "--port", str(self.port),
             "--object-nodes", str(OBJECT_NODES)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=clean_env(self.home), start_new_session=True)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [threading.Thread(target=_drain, args=(pipe, sink), daemon=True)
                         for pipe, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                self._join()
                raise AssertionError(f"overcast up exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                time.sleep(0.2)   # whoever answered must be us: a failed bind makes overcast exit at once
                if self.proc.poll() is None:
                    break
                continue
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(f"overcast up did not listen on {self.port} within "
                                         f"{START_TIMEOUT:.0f} s:\n{self.output()}") from None
                time.sleep(0.1)

    def banner(self, label: str) -> str:
        """A ``label : value`` line of the start-up banner (printed and flushed before listening)."""
        match = re.search(rf"^\s*{re.escape(label)}\s*:\s*(\S+)\s*$", "".join(self.stdout), re.MULTILINE)
        assert match, f"no '{label}' in the banner of overcast up:\n{self.output()}"
        return match.group(1)

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then the exit code (the process must stop within STOP_TIMEOUT)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"overcast up did not stop within {STOP_TIMEOUT:.0f} s of SIGINT:\n"
                                 f"{self.output()}") from None
        self._join()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._join()

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(5)
        if self.proc is not None:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()


def _drain(pipe: Any, sink: list[str]) -> None:
    for line in iter(pipe.readline, ""):
        sink.append(line)


# --- clients ----------------------------------------------------------------------------------------

def boto3_client(service: str, endpoint: str, access_key: str, secret: str, token: str | None = None,
                 **config: Any) -> Any:
    return boto3.session.Session().client(
        service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=access_key,
        aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"max_attempts": 1}, **config))


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of the ClientError that ``call`` must raise."""
    try:
        result = call(*args, **kwargs)
    except ClientError as err:
        return (err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"],
                err.response["Error"].get("Message", ""))
    raise AssertionError(f"expected an error, got {result!r}")


@contextmanager
def client_clock(offset_seconds: float) -> Iterator[None]:
    """Sign with a clock ``offset_seconds`` off (botocore.auth's clock only, for this block)."""
    real = botocore.auth.get_current_datetime

    def skewed(remove_tzinfo: bool = True) -> datetime:
        now = datetime.fromtimestamp(time.time() + offset_seconds, UTC)
        return now.replace(tzinfo=None) if remove_tzinfo else now

    botocore.auth.get_current_datetime = skewed  # type: ignore[attr-defined]
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = real  # type: ignore[attr-defined]


# --- raw HTTP: requests boto3 refuses to build ---------------------------------------------------------

@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def parsed(self, service: str, operation: str) -> dict[str, Any]:
        """The response as botocore's parser for ``service`` reads it (errors under ``Error``)."""
        model = _BOTOCORE.get_service_model(service)
        parser = create_parser(model.metadata["protocol"])
        shape = model.operation_model(operation).output_shape
        return parser.parse({"status_code": self.status, "headers": dict(self.headers), "body": self.body},
                            shape)


def http(method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None) -> RawResponse:
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return RawResponse(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return RawResponse(err.code, dict(err.headers.items()), err.read())


def form_post(endpoint: str, service: str, params: Mapping[str, str], *, access_key: str | None = None,
              secret: str | None = None) -> RawResponse:
    """A form-encoded POST of ``params`` (plus Version), SigV4-signed when keys are given."""
    body = urlencode({"Version": API_VERSIONS[service], **params})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if access_key is not None and secret is not None:
        request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
        botocore.auth.SigV4Auth(Credentials(access_key, secret), service, REGION).add_auth(request)
        headers = {k: v for k, v in request.headers.items()}
    return http("POST", endpoint + "/", body.encode(), headers)


def in_parallel(calls: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent calls (CLI processes, mostly) at once; results by name."""
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


# --- the running cloud as tests see it -------------------------------------------------------------

CLI_TIMEOUT = 60


@dataclass(frozen=True)
class Account:
    account_id: str
    access_key: str
    secret: str


class Overcast:
    """What a test sees of the running cloud."""

    region = REGION

    def __init__(self, process: OvercastProcess) -> None:
        self.process = process
        self.data_dir = process.data_dir
        self.home = process.home
        self.endpoint = process.endpoint
        self._read_banner()

    def _read_banner(self) -> None:
        self.account_id = self.process.banner("admin account")
        self.access_key = self.process.banner("access key id")
        self.secret = self.process.banner("secret key")

    @property
    def admin_account(self) -> Account:
        return Account(self.account_id, self.access_key, self.secret)

    # -- boto3 -------------------------------------------------------------------------------------
    def client(self, service: str, *, access_key: str | None = None, secret: str | None = None,
               token: str | None = None, **config: Any) -> Any:
        """A boto3 client with explicit keys (the admin's unless given), us-east-1, no retries."""
        return boto3_client(service, self.endpoint, access_key or self.access_key, secret or self.secret,
                            token, **config)

    def client_for(self, account: Account, service: str, **config: Any) -> Any:
        return self.client(service, access_key=account.access_key, secret=account.secret, **config)

    # -- the overcast command ------------------------------------------------------------------------
    def admin_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(OVERCAST), "--data-dir", str(self.data_dir), "admin", *args],
                              capture_output=True, text=True, env=clean_env(self.home), timeout=CLI_TIMEOUT,
                              stdin=subprocess.DEVNULL)

    def admin(self, *args: str) -> str:
        result = self.admin_run(*args)
        assert result.returncode == 0, f"overcast admin {' '.join(args)} failed ({result.returncode}):\n" \
                                       f"{result.stdout}{result.stderr}"
        return result.stdout

    def create_account(self, name: str, *extra: str) -> tuple[str, str, str]:
        out = self.admin("create-account", name, *extra)
        account = re.search(rf"^account {re.escape(name)}: (\d+)\s*$", out, re.MULTILINE)
        key = re.search(r"^\s*access key id\s*:\s*(\S+)\s*$", out, re.MULTILINE)
        secret = re.search(r"^\s*secret key\s*:\s*(\S+)\s*$", out, re.MULTILINE)
        assert account and key and secret, f"unexpected output of create-account:\n{out}"
        return account.group(1), key.group(1), secret.group(1)

    # -- the AWS CLIs ---------------------------------------------------------------------------------
    def aws(self, cli: str, *args: str, profile: str | None = "overcast", account: Account | None = None,
            endpoint_in: str = "auto", extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run an unmodified AWS CLI.

        ``cli`` is ``v1`` (PyPI, in the venv) or ``v2`` (Debian).  With ``profile`` the CLI reads the
        profile ``overcast up`` wrote into HOME; with ``account`` it gets keys from the environment.
        ``endpoint_in``: ``flag`` (--endpoint-url), ``env`` (AWS_ENDPOINT_URL), ``profile`` (nothing:
        endpoint_url of the profile) or ``auto`` (v2: flag, v1: env).
        """
        binary = {"v1": AWS_V1, "v2": AWS_V2}[cli]
        assert binary.exists(), f"AWS CLI {cli} is missing at {binary}"
        env = clean_env(self.home, AWS_MAX_ATTEMPTS="1", **(extra_env or {}))
        argv = [str(binary)]
        if endpoint_in == "auto":
            endpoint_in = "flag" if cli == "v2" else "env"
        if endpoint_in == "flag":
            argv += ["--endpoint-url", self.endpoint]
        elif endpoint_in == "env":
            env["AWS_ENDPOINT_URL"] = self.endpoint
        if account is not None:
            env.update(AWS_ACCESS_KEY_ID=account.access_key, AWS_SECRET_ACCESS_KEY=account.secret,
                       AWS_DEFAULT_REGION=REGION)
            argv += ["--output", "json"]
        elif profile is not None:
            argv += ["--profile", profile]
        return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT,
                              stdin=subprocess.DEVNULL)

    # -- lifecycle --------------------------------------------------------------------------------------
    def restart(self) -> None:
        """Ctrl-C (must exit 0), then ``overcast up`` again on the same data directory and port."""
        code = self.process.interrupt()
        assert code == 0, f"overcast up exited with {code} on SIGINT:\n{self.process.output()}"
        self.process.start()
        self._read_banner()
