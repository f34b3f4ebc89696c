"""A throwaway PostgreSQL server for tests and benchmarks, on a Unix socket only.

:class:`TemporaryPostgres` runs ``initdb`` into a new temporary directory, starts the
server with ``pg_ctl`` listening on a Unix socket in that directory (no TCP port:
``listen_addresses=''``), hands out DSNs of fresh databases, and stops the server and
removes the directory on :meth:`~TemporaryPostgres.stop` (also when a test failed; use
it as a context manager or a session fixture; a process killed by a signal runs
neither, and leaves the server running: ``pg_ctl -D DIRECTORY/data stop`` ends it).
PostgreSQL refuses to run as root, so when the process is root the cluster belongs to
the ``postgres`` system user (the directory is handed to it and the programs run
through ``runuser``).

The server is tuned for tests, not for keeping data: ``fsync=off``,
``synchronous_commit=off`` and ``full_page_writes=off`` (a crash of the *machine* may
lose it; a killed client still loses nothing committed and keeps nothing uncommitted).

A host's own tests can use it the same way::

    with TemporaryPostgres() as server:
        store = PostgresStore(server.create_database("shop_tests"))

Only the standard library is needed to run the server; the DSNs it gives are for
``psycopg`` (the ``postgres`` extra).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.parse
from typing import Self

from custmgmt.errors import StorageError

__all__ = ["TemporaryPostgres", "find_postgres_bin"]

_SERVER_SETTINGS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c max_connections=100 -c shared_buffers=128MB "
    "-c max_locks_per_transaction=256"
)


def find_postgres_bin() -> str | None:
    """The directory holding ``initdb`` and ``pg_ctl``: ``$PG_BIN``, then ``PATH``,
    then the newest Debian ``/usr/lib/postgresql/*/bin``; None when there is none."""
    given = os.environ.get("PG_BIN")
    if given and os.path.isfile(os.path.join(given, "initdb")):
        return given
    found = shutil.which("initdb")
    if found:  # a link in /usr/local/bin leads to the directory with createdb too
        return os.path.dirname(os.path.realpath(found))
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        return None
    newest = max(candidates, key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(newest)


class TemporaryPostgres:
    """A PostgreSQL cluster in a temporary directory, reachable on its Unix socket only.

    Args:
        bin_dir: where ``initdb`` and ``pg_ctl`` are (default: :func:`find_postgres_bin`).
        user: the operating-system user that owns the cluster when this process is
            root (default ``postgres``); ignored otherwise.

    Raises:
        StorageError: no PostgreSQL programs, or the server could not be started
            (the output of the failing program is in the message).
    """

    def __init__(self, bin_dir: str | None = None, *, user: str = "postgres") -> None:
        found = bin_dir or find_postgres_bin()
        if found is None:
            raise StorageError(
                "postgres: no initdb found (set PG_BIN, or install PostgreSQL: "
                "apt-get install postgresql)"
            )
        self.bin_dir = found
        self._as_user: str | None = user if os.geteuid() == 0 else None
        self.directory = tempfile.mkdtemp(prefix="custmgmt-pg-")
        self.data = os.path.join(self.directory, "data")
        self._started = False
        self._databases = 0
        try:
            if self._as_user is not None:
                entry = pwd.getpwnam(self._as_user)
                os.chown(self.directory, entry.pw_uid, entry.pw_gid)
            os.chmod(self.directory, 0o755)
            self._run(
                "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync",
            )  # fmt: skip
            self._run(
                "pg_ctl", "-D", self.data, "-l", os.path.join(self.directory, "server.log"),
                "-w", "-t", "60", "-o",
                f"{_SERVER_SETTINGS} -c unix_socket_directories='{self.directory}'",
                "start",
            )  # fmt: skip
            self._started = True
            # A run that ends without calling stop() (an uncaught error, sys.exit)
            # still stops the server when the interpreter exits.
            atexit.register(self.stop)
        except BaseException:
            self.stop()
            raise

    @property
    def dsn(self) -> str:
        """The DSN of the ``postgres`` database (for administration)."""
        return self.dsn_of("postgres")

    def dsn_of(self, database: str) -> str:
        """The DSN of ``database`` on this server (over the Unix socket); the name and
        the socket directory are percent-encoded, so that any name (spaces, ``%``,
        ``?``, ``/``) names that database and no other."""
        name = urllib.parse.quote(database, safe="")
        return f"postgresql://postgres@/{name}?host={urllib.parse.quote(self.directory, safe='/')}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database (``name``, or a fresh one); returns its DSN."""
        self._databases += 1
        name = name or f"test_{self._databases}"
        # "--" ends the options: a name such as "-Uother" is a name, not an option.
        self._run(
            "createdb", "-h", self.directory, "-U", "postgres", "-T", "template0", "-E", "UTF8",
            "--", name,
        )  # fmt: skip
        return self.dsn_of(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` (closing its connections first)."""
        self._run("dropdb", "-h", self.directory, "-U", "postgres", "--force", "--", name)

    def stop(self) -> None:
        """Stop the server (immediately: nothing here is worth keeping) and remove
        its directory. Safe to call twice."""
        atexit.unregister(self.stop)
        try:
            if self._started:
                self._started = False
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, program: str, *args: str) -> None:
        command = [os.path.join(self.bin_dir, program), *args]
        if self._as_user is not None:
            command = ["runuser", "-u", self._as_user, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=self.directory, check=False
        )
        if done.returncode != 0:
            log = os.path.join(self.directory, "server.log")
            tail = ""
            if os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as f:
                    tail = f.read()[-2000:].strip()
            raise StorageError(
                f"postgres: {program} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
                + (f"\nserver log (end):\n{tail}" if tail else "")
            )
