"""The embedded cluster: created on demand, runs as an unprivileged user, keeps its data
across a restart, and the CLI finds it on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.embedded_pg import EmbeddedCluster, find_binaries
from core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def cluster(tmp_path: Path) -> EmbeddedCluster:
    if find_binaries() is None:
        pytest.skip("PostgreSQL with PostGIS is not installed")
    instance = EmbeddedCluster.from_settings(Settings(data_dir=tmp_path / "kw"))
    yield instance
    instance.down()


def test_cluster_starts_keeps_data_across_restart_and_stops(cluster: EmbeddedCluster) -> None:
    url = cluster.up(echo=False)
    assert cluster.is_running()
    if os.geteuid() == 0:
        assert cluster.os_user in {"postgres", "kilowatch"}  # never the root user
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(text("CREATE TABLE survivor (name text)"))
        conn.execute(text("INSERT INTO survivor VALUES ('still here')"))
    engine.dispose()

    assert cluster.down() is True
    assert not cluster.is_running()
    assert cluster.down() is False  # stopping twice is harmless

    again = EmbeddedCluster.from_settings(Settings(data_dir=cluster.state_file.parent))
    assert again.port == cluster.port and again.data_dir == cluster.data_dir
    engine = create_engine(again.up(echo=False))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM survivor")).scalar() == "still here"
        assert conn.execute(text("SELECT PostGIS_Lib_Version()")).scalar().startswith("3.")
    engine.dispose()
    again.down()


def test_cli_db_commands_use_the_embedded_cluster(cluster: EmbeddedCluster) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KILOWATCH_DATABASE_URL"}
    env["KILOWATCH_DATA_DIR"] = str(cluster.state_file.parent)
    kilowatch = [sys.executable, "-m", "kilowatch"]

    status = subprocess.run([*kilowatch, "db", "url"], env=env, capture_output=True, text=True)
    assert status.returncode == 1
    assert "kilowatch db up" in status.stderr  # says what to do

    up = subprocess.run(
        [*kilowatch, "db", "up"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=240,
    )
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip().splitlines()[-1]
    assert url.startswith("postgresql+psycopg://kilowatch@/kilowatch?host=")

    found = subprocess.run([*kilowatch, "db", "url"], env=env, capture_output=True, text=True)
    assert found.stdout.strip() == url
    engine = create_engine(url)
    with engine.connect() as conn:
        extensions = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
        assert {"postgis", "pg_trgm", "unaccent"} <= extensions
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    down = subprocess.run([*kilowatch, "db", "down"], env=env, capture_output=True, text=True)
    assert down.returncode == 0 and "stopped" in down.stderr
