"""A throwaway PostgreSQL server for tests: initdb into a temp dir, unix socket only, no fsync.

Uses the Debian server binaries (``postgresql`` package).  When the tests run as root the server
runs as the ``postgres`` OS user (initdb refuses root); otherwise as the current user.  Anything
that goes wrong raises :class:`PostgresError` with the server log, so the tests fail, never skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
BIN_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)


class PostgresError(RuntimeError):
    pass


def _bin_dir() -> Path:
    for candidate in BIN_DIRS:
        if (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise PostgresError("PostgreSQL server binaries not found (install the Debian 'postgresql' package)")


class PostgresServer:
    """``start()`` it, ``create_database(name)`` as needed, ``stop()`` at the end."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.os_user = SUPERUSER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        # Not under pytest's tmp_path: that is private to root, and the socket path must stay short.
        self.base = Path(tempfile.mkdtemp(prefix="overcast-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sock"
        self.log = self.base / "server.log"
        self.running = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.sockets.mkdir()
        self.log.touch()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.base, self.sockets, self.log):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        options = " ".join([
            "-c listen_addresses=''", f"-k {self.sockets}", "-c fsync=off", "-c synchronous_commit=off",
            "-c full_page_writes=off", "-c max_connections=200", "-c shared_buffers=32MB",
        ])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self) -> None:
        try:
            if self.running:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self.running = False
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------
    def url(self, database: str, schema: str | None = None) -> str:
        """A SQLAlchemy URL (``make_engine`` adds the ``+psycopg`` driver); with ``schema``, its
        connections use that schema (``search_path``) for everything, migrations included."""
        url = f"postgresql://{SUPERUSER}@/{database}?host={self.sockets}"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE, schemas)."""
        try:
            with psycopg.connect(host=str(self.sockets), user=SUPERUSER, dbname=database, autocommit=True) as conn:
                conn.execute(sql.encode())
        except psycopg.Error as exc:
            raise PostgresError(f"{sql}: {exc}\n{self.log_text()}") from exc

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def create_schema(self, database: str, schema: str) -> str:
        """An empty schema: far cheaper than a database per test (no checkpoint, no file copy)."""
        self.execute(f'CREATE SCHEMA "{schema}"', database)
        return self.url(database, schema)

    def drop_schema(self, database: str, schema: str) -> None:
        self.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', database)

    # -- helpers ---------------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return "--- PostgreSQL server log ---\n" + self.log.read_text(errors="replace")
        except OSError:
            return "(no server log)"

    def _run(self, program: str, *args: str) -> None:
        cmd = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        try:
            proc = subprocess.run(cmd, cwd=self.base, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresError(f"{' '.join(cmd)}: {exc}\n{self.log_text()}") from exc
        if proc.returncode != 0:
            raise PostgresError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}\n"
                                f"{self.log_text()}")
