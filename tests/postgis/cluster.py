"""A throwaway PostgreSQL/PostGIS cluster for the tests.

:func:`get_server` returns a running server, started once per test process:

* if ``KCN_GIS_TEST_POSTGRES_URL`` is set (a superuser URL of an existing server, e.g.
  a CI service container), that server is used and nothing is started or stopped;
* otherwise ``initdb`` creates a cluster in a temporary directory and ``pg_ctl``
  starts it on a free TCP port on 127.0.0.1 (socket in the same directory). When
  the tests run as root, which PostgreSQL refuses, the cluster runs as the
  unprivileged ``postgres`` system user (or ``KCN_GIS_TEST_PG_USER``). It is
  stopped and deleted by :meth:`Server.stop` (called at the end of the pytest
  session, and at interpreter exit as a fallback).

The PostgreSQL binaries are looked up in ``KCN_GIS_PG_BINDIR``, then
``pg_config --bindir``, then ``/usr/lib/postgresql/<newest>/bin``.
:class:`ServerUnavailableError` says why no server could be started; the fixtures
turn it into a skip, or a failure when ``KCN_GIS_REQUIRE_POSTGIS=1``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Server", "ServerUnavailableError", "get_server"]

_DB = "kcn_gis_test"
_SUPERUSER = "kcn_gis_test_admin"


class ServerUnavailableError(RuntimeError):
    """No PostgreSQL/PostGIS server could be started or reached; the message says why."""


@dataclass
class Server:
    """A running server: ``url(dbname, user)`` builds connection URLs."""

    host: str
    port: int
    superuser: str
    dbname: str
    base_dir: Path | None = None
    data_dir: Path | None = None
    bindir: Path | None = None
    run_as: tuple[int, int] | None = None
    _stopped: bool = field(default=False, repr=False)

    def url(self, *, user: str | None = None, dbname: str | None = None, schema: str | None = None) -> str:
        text = f"postgresql://{user or self.superuser}@{self.host}:{self.port}/{dbname or self.dbname}"
        if schema:
            from urllib.parse import quote

            text += "?schema=" + quote(schema, safe="")
        return text

    def stop(self) -> None:
        if self._stopped or self.data_dir is None:
            return
        self._stopped = True
        assert self.bindir is not None and self.base_dir is not None
        with contextlib.suppress(Exception):
            _run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"], self.run_as)
        shutil.rmtree(self.base_dir, ignore_errors=True)


_SERVER: Server | None = None
_FAILURE: str | None = None


def get_server() -> Server:
    """The test server of this process (started on first call). Raises :class:`ServerUnavailableError`."""
    global _SERVER, _FAILURE
    if _SERVER is not None:
        return _SERVER
    if _FAILURE is not None:
        raise ServerUnavailableError(_FAILURE)
    try:
        _SERVER = _external() or _start()
    except ServerUnavailableError as exc:
        _FAILURE = str(exc)
        raise
    atexit.register(_SERVER.stop)
    return _SERVER


def _external() -> Server | None:
    url = os.environ.get("KCN_GIS_TEST_POSTGRES_URL")
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    server = Server(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        superuser=parts.username or "postgres",
        dbname=(parts.path or "/").lstrip("/") or "postgres",
    )
    _prepare_database(server, create=False)
    return server


def _bindir() -> Path:
    env = os.environ.get("KCN_GIS_PG_BINDIR")
    candidates: list[Path] = [Path(env)] if env else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(Exception):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10)
            candidates.append(Path(out.stdout.strip()))
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if p.name.split(".")[0].isdigit()), key=lambda p: float(p.name))
        candidates += [p / "bin" for p in reversed(versions)]
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise ServerUnavailableError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian packages postgresql and "
        "postgresql-15-postgis-3 (scripts/setup.sh does it as root), or set KCN_GIS_PG_BINDIR, "
        "or point KCN_GIS_TEST_POSTGRES_URL at a running PostGIS server"
    )


def _run_as() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    name = os.environ.get("KCN_GIS_TEST_PG_USER", "postgres")
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise ServerUnavailableError(
            f"running as root and there is no unprivileged user '{name}' to run PostgreSQL "
            "(PostgreSQL refuses to run as root); create one or set KCN_GIS_TEST_PG_USER"
        ) from None
    return pw.pw_uid, pw.pw_gid


def _run(cmd: list[str], run_as: tuple[int, int] | None, *, timeout: float = 120) -> subprocess.CompletedProcess:
    kwargs: dict = {}
    if run_as is not None:
        kwargs = {"user": run_as[0], "group": run_as[1], "extra_groups": []}
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        cwd="/",
        env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        **kwargs,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start() -> Server:
    bindir = _bindir()
    run_as = _run_as()
    base = Path(tempfile.mkdtemp(prefix="kcn_gis_pg_"))
    if run_as is not None:
        os.chown(base, *run_as)
    data = base / "data"
    log = base / "server.log"
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                _SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            run_as,
        )
        last: Exception | None = None
        for _ in range(3):  # the port may be taken between choosing and binding it
            port = _free_port()
            opts = (
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=60 -c shared_buffers=32MB"
            )
            try:
                _run(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"],
                    run_as,
                )
                break
            except subprocess.CalledProcessError as exc:
                last = exc
                time.sleep(0.2)
        else:
            raise last or RuntimeError("pg_ctl start failed")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        stderr = getattr(exc, "stderr", "") or ""
        shutil.rmtree(base, ignore_errors=True)
        raise ServerUnavailableError(
            f"could not start a throwaway PostgreSQL cluster: {exc}\n{stderr}\n{tail}"
        ) from exc
    server = Server("127.0.0.1", port, _SUPERUSER, _DB, base_dir=base, data_dir=data, bindir=bindir, run_as=run_as)
    try:
        _prepare_database(server, create=True)
    except ServerUnavailableError:
        server.stop()
        raise
    return server


def _prepare_database(server: Server, *, create: bool) -> None:
    """Create the test database (throwaway cluster only) and the PostGIS extension in it."""
    try:
        import psycopg
    except ImportError as exc:
        raise ServerUnavailableError("psycopg is not installed: pip install 'kcn_gis[postgis]'") from exc
    try:
        if create:
            with psycopg.connect(server.url(dbname="postgres"), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE \"{server.dbname}\" ENCODING 'UTF8' TEMPLATE template0")
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as exc:
        raise ServerUnavailableError(
            f"PostgreSQL is running but PostGIS is not usable: {exc}. Install postgresql-15-postgis-3."
        ) from exc
