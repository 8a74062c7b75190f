"""A throw-away PostgreSQL server for the tests: ``initdb`` in a temporary directory, the
server listening on a Unix socket in that directory only (no TCP port), trust
authentication, durability off (it is thrown away).

Debian's ``postgresql`` package (``apt-get install postgresql``, as the README's test set-up
and ``.ci/run`` do) puts the server's programs in ``/usr/lib/postgresql/<version>/bin``, off
``PATH``; they are found there or on ``PATH``. PostgreSQL refuses to run as root, so under
root (CI) the server runs as the package's ``postgres`` user, through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresUnavailable", "PostgresServer", "find_bin_dir", "start_server"]

PORT = 5432  # only names the socket file; the directory is private, so no clash


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed here (the tests that need it are skipped)."""


def find_bin_dir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``: on PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) if x.isdigit() else x for x in Path(p).parts[-3].split(".")],
    )
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class PostgresServer:
    bin_dir: Path
    directory: Path  # data directory, socket and log
    run_as: list[str]  # the command prefix that runs a program as the server's user

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``postgres`` database, over the Unix socket."""
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.directory}&port={PORT}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        where = {"host": str(self.directory), "port": PORT, "user": "postgres", "dbname": "postgres"}
        with psycopg.connect(**where, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def run_program(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, str(self.bin_dir / argv[0]), *argv[1:]],
            capture_output=True, text=True, timeout=timeout, cwd=self.directory, check=False,
        )

    def log(self) -> str:
        try:
            return (self.directory / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self.run_program("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_server() -> PostgresServer:
    """Start a private server; raises ``PostgresUnavailable`` when PostgreSQL is not
    installed, ``RuntimeError`` (with the server's output) when it is but does not start."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
            "install it as the README's test set-up does: apt-get install postgresql"
        )
    run_as: list[str] = []
    directory = Path(tempfile.mkdtemp(prefix="descend-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(directory)
            raise PostgresUnavailable("running as root without runuser: cannot start PostgreSQL as the postgres user")
        try:
            import pwd

            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(directory)
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
        os.chown(directory, user.pw_uid, user.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    server = PostgresServer(bin_dir, directory, run_as)
    steps = [
        ("initdb", "-D", str(directory / "data"), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"),
        (
            "pg_ctl", "-D", str(directory / "data"), "-l", str(directory / "server.log"), "-w", "-t", "60",
            "-o", (
                f"-k {directory} -p {PORT} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=50"
            ),
            "start",
        ),
    ]
    for step in steps:
        done = server.run_program(*step, timeout=90)
        if done.returncode != 0:
            server.stop()
            raise RuntimeError(
                f"{step[0]} failed ({done.returncode}): {done.stdout}{done.stderr}\nserver log:\n{server.log()}"
            )
    return server
