"""A project-local PostgreSQL + PostGIS cluster, so Kilowatch runs with no database set up.

The cluster lives in ``<data_dir>/pg`` and listens only on a Unix socket (trust auth inside a
0700 folder) on a port chosen free at first start. PostgreSQL refuses to run as root, so
when we are root the server runs as the unprivileged ``postgres`` OS user (created by the
Debian packages), or ``kilowatch`` if that does not exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

DB_NAME = "kilowatch"
DB_USER = "kilowatch"
MIN_MAJOR = 15
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"


class EmbeddedClusterError(RuntimeError):
    """The embedded cluster cannot be set up; the message says what to do."""


@dataclass(frozen=True)
class PgBinaries:
    """Server binaries of one PostgreSQL major version that has PostGIS installed."""

    major: int
    bindir: Path

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def _installed_majors() -> list[int]:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit())


def _has_postgis(major: int) -> bool:
    return Path(f"/usr/share/postgresql/{major}/extension/postgis.control").exists()


def find_binaries() -> PgBinaries | None:
    for major in reversed(_installed_majors()):
        bindir = Path(f"/usr/lib/postgresql/{major}/bin")
        if major >= MIN_MAJOR and (bindir / "pg_ctl").exists() and _has_postgis(major):
            return PgBinaries(major, bindir)
    return None


def install_command() -> str:
    majors = [m for m in _installed_majors() if m >= MIN_MAJOR]
    if majors:
        return f"apt-get install -y postgresql-{majors[-1]}-postgis-3 postgresql-contrib"
    return (
        "apt-get update && apt-get install -y postgresql postgresql-contrib && "
        "apt-get install -y postgresql-$(ls /usr/lib/postgresql | sort -n | tail -1)-postgis-3"
    )


def ensure_binaries(echo: bool = True) -> PgBinaries:
    """Find PostgreSQL + PostGIS; install them with apt when root, else say how."""
    found = find_binaries()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise EmbeddedClusterError(
            "PostgreSQL >= 15 with PostGIS is not installed. Run as root:\n  " + install_command()
        )
    if echo:
        print("Installing PostgreSQL and PostGIS with apt-get ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    if not [m for m in _installed_majors() if m >= MIN_MAJOR]:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "postgresql", "postgresql-contrib"],
            check=True,
            env=env,
        )
    major = max(_installed_majors())
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", f"postgresql-{major}-postgis-3"], check=True, env=env
    )
    found = find_binaries()
    if not found:
        raise EmbeddedClusterError("PostGIS installation did not provide postgis.control")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """The OS user the server runs as, or None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "kilowatch"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "kilowatch"],
        check=True,
    )
    return "kilowatch"


def _traversable_by(user: str, path: Path) -> bool:
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(path)], capture_output=True
    )
    return result.returncode == 0


@dataclass
class EmbeddedCluster:
    """State of the project-local cluster: data folder, socket folder, port, OS user."""

    state_file: Path
    data_dir: Path
    socket_dir: Path
    port: int
    os_user: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedCluster:
        state_file = settings.data_dir / "pg.json"
        if state_file.exists():
            state = json.loads(state_file.read_text())
            return cls(
                state_file=state_file,
                data_dir=Path(state["data_dir"]),
                socket_dir=Path(state["socket_dir"]),
                port=int(state["port"]),
                os_user=state.get("os_user"),
            )
        base = settings.data_dir.resolve()
        socket_dir = base / "run"
        if len(str(socket_dir)) > SOCKET_PATH_MAX:
            digest = hashlib.sha1(str(base).encode()).hexdigest()[:10]  # noqa: S324 - a name
            socket_dir = Path("/tmp") / f"kilowatch-{digest}"  # noqa: S108
        return cls(state_file, base / "pg", socket_dir, _free_port(), _server_user())

    # -- queries -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{DB_USER}@/{DB_NAME}?host={self.socket_dir}&port={self.port}"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{DB_USER}@/{database}?host={self.socket_dir}&port={self.port}"

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        return (self.socket_dir / f".s.PGSQL.{self.port}").exists() and self._pg_ctl_status()

    def url_if_running(self) -> str | None:
        return self.url if self.state_file.exists() and self.is_running() else None

    # -- actions -------------------------------------------------------------------------
    def up(self, echo: bool = True) -> str:
        binaries = ensure_binaries(echo)
        self._prepare_folders()
        if not self.is_initialised():
            self._run_as_server(
                [
                    binaries.tool("initdb"),
                    "-D",
                    str(self.data_dir),
                    "--username",
                    DB_USER,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ],
                quiet=True,
            )
        if not self.is_running():
            if not self._port_free(self.port):
                self.port = _free_port()
            self._save_state()
            log = self.data_dir.parent / "pg.log"
            self._touch_for_server(log)
            self._run_as_server(
                [
                    binaries.tool("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-p {self.port} -k {self.socket_dir} -c listen_addresses=''"
                    " -c max_connections=200 -c shared_buffers=256MB -c fsync=on",
                    "start",
                ],
                quiet=True,
            )
        self._save_state()
        self._ensure_database(binaries, DB_NAME)
        return self.url

    def down(self) -> bool:
        binaries = find_binaries()
        if binaries is None or not self.is_initialised() or not self._pg_ctl_status():
            return False
        self._run_as_server(
            [binaries.tool("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            quiet=True,
        )
        return True

    def create_database(self, name: str, template: str | None = None) -> str:
        binaries = ensure_binaries(echo=False)
        self._ensure_database(binaries, name, template)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        binaries = ensure_binaries(echo=False)
        self._psql(binaries, "postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- internals -----------------------------------------------------------------------
    def _pg_ctl_status(self) -> bool:
        binaries = find_binaries()
        if binaries is None or not self.is_initialised():
            return False
        result = subprocess.run(
            self._as_server([binaries.tool("pg_ctl"), "-D", str(self.data_dir), "status"]),
            capture_output=True,
        )
        return result.returncode == 0

    def _prepare_folders(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.os_user and not _traversable_by(self.os_user, self.data_dir.parent):
            # The checkout is private to root (e.g. under /root): keep the cluster elsewhere.
            digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:10]  # noqa: S324
            relocated = Path("/var/lib/kilowatch") / digest
            relocated.mkdir(parents=True, exist_ok=True)
            shutil.chown(relocated, self.os_user)
            if self.socket_dir.is_relative_to(self.data_dir.parent):
                self.socket_dir = relocated / "run"
            self.data_dir = relocated / "pg"
        for folder, mode in ((self.data_dir, 0o700), (self.socket_dir, 0o700)):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(mode)
            if self.os_user:
                shutil.chown(folder, self.os_user)

    def _touch_for_server(self, path: Path) -> None:
        path.touch(exist_ok=True)
        if self.os_user:
            shutil.chown(path, self.os_user)

    def _save_state(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(
            json.dumps(
                {
                    "data_dir": str(self.data_dir),
                    "socket_dir": str(self.socket_dir),
                    "port": self.port,
                    "os_user": self.os_user,
                },
                indent=2,
            )
        )

    @staticmethod
    def _port_free(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    def _as_server(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.os_user, "--", *argv] if self.os_user else argv

    def _run_as_server(self, argv: list[str], quiet: bool = False) -> None:
        result = subprocess.run(
            self._as_server(argv), capture_output=quiet, text=True, cwd=str(self.data_dir.parent)
        )
        if result.returncode != 0:
            raise EmbeddedClusterError(
                f"{Path(argv[0]).name} failed ({result.returncode}):\n{result.stderr or ''}"
                f"{result.stdout or ''}"
            )

    def _psql(self, binaries: PgBinaries, database: str, sql: str) -> str:
        result = subprocess.run(
            [
                str(binaries.bindir / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                DB_USER,
                "-d",
                database,
                "-tAX",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise EmbeddedClusterError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def _ensure_database(
        self, binaries: PgBinaries, name: str, template: str | None = None
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise EmbeddedClusterError(f"invalid database name {name!r}")
        exists = self._psql(
            binaries, "postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
        )
        if exists != "1":
            clause = f' TEMPLATE "{template}"' if template else ""
            self._psql(binaries, "postgres", f'CREATE DATABASE "{name}"{clause}')
