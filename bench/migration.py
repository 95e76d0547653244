"""Benchmark: import a legacy base of N customers through the data-migration format.

    python bench/migration.py [--scale N]   (default 100,000 customers)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster), migrates it, generates a network (``gis.generator``) and writes a legacy base
as the documented files: N parties, their premises (coordinates a few metres from the
generated service points; one in ten without a service point code, so it is attached to
the nearest), usage points, meters, installations and contracts. It then times
``kilowatch migrate import`` of the folder (as the CLI runs it: checked whole, then each
entity committed), the floor (a
plain COPY of the same files into unconstrained text tables, same run) and their ratio,
imports the files again (nothing changes), drops the database and prints one JSON object
as its last line. Target: the whole import under 60 s at 100,000 customers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEED = 9
FIRST_NAMES = [
    "Adjoa", "Koffi", "Afi", "Sènan", "Mahougnon", "Codjo", "Yétondé", "Rachidi", "Awa",
    "Kossi", "Aïcha", "Bienvenu", "Chantal", "Dieudonné", "Edwige", "Firmin", "Gisèle",
    "Honoré", "Ines", "Jacques", "Léontine", "Mathieu", "Nafissatou", "Olivier",
]  # fmt: skip
# Family names built from syllables (as Fon and Yoruba names are): 2,197 of them.
SYLLABLES = [
    "Hou",
    "Ad",
    "Dos",
    "Ago",
    "Que",
    "Ahoua",
    "Tos",
    "Zin",
    "Gbe",
    "Ko",
    "Sa",
    "Dji",
    "Ay",
]
ENDINGS = [
    "ngbo",
    "jovi",
    "sou",
    "ssou",
    "num",
    "nsou",
    "de",
    "kpè",
    "non",
    "mey",
    "ton",
    "glo",
    "vi",
]
DISTRICTS = ["Akpakpa", "Cadjèhoun", "Gbégamey", "Fidjrossè", "Zogbo", "Agla"]
# Metres to degrees near the equator (enough for a jitter of a few metres).
DEG_PER_M = 1 / 111_320


def _database() -> tuple[str, Callable[[], None]]:
    """A fresh database on KILOWATCH_DATABASE_URL's server (or the embedded cluster)."""
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database(
        "kw_bench_migration", os.environ.get("KILOWATCH_DATABASE_URL")
    )
    return scratch.url, scratch.drop


def _network(url: str, customers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate the network; its service points' codes, longitudes and latitudes."""
    from sqlalchemy import text

    from core.context import SYSTEM, acting_as
    from core.db import session_scope
    from gis.generator import generate_network

    with acting_as(SYSTEM, request_id="bench-migration"), session_scope(url) as session:
        generate_network(session, service_points=max(customers * 4 // 5, 10), seed=SEED)
    with session_scope(url) as session:
        rows = session.execute(
            text("SELECT code, ST_X(geom), ST_Y(geom) FROM gis_service_point ORDER BY code")
        ).all()
    codes = np.array([r[0] for r in rows], dtype=object)
    return codes, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def _keys(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 7))


def generate_base(
    n: int, sp_codes: np.ndarray, sp_lon: np.ndarray, sp_lat: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """The legacy base's files as columns of text, one customer each: a party, a premises,
    a usage point, a meter installed there and a contract."""
    rng = np.random.default_rng(SEED)
    empty = np.full(n, "", dtype=object)
    parties = _keys("C", n)
    premises = _keys("L", n)
    points = _keys("U", n)
    serials = _keys("BMG", n)
    # Premises a few metres from their service point (several may share one).
    sp = rng.integers(0, len(sp_codes), n)
    jitter = rng.normal(0, 6, (n, 2)) * DEG_PER_M
    no_code = rng.random(n) < 0.1  # attached to the nearest by the import
    organisation = rng.random(n) < 0.05
    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    middle = np.array([s.lower() for s in SYLLABLES], dtype=object)
    last = (
        np.array(SYLLABLES, dtype=object)[rng.integers(0, len(SYLLABLES), n)]
        + middle[rng.integers(0, len(middle), n)]
        + np.array(ENDINGS, dtype=object)[rng.integers(0, len(ENDINGS), n)]
    )
    phones = np.char.add("+229 01 9", np.char.zfill(np.arange(n).astype(str), 7))
    kva = np.where(organisation, "9.90", np.where(rng.random(n) < 0.3, "6.60", "3.30"))
    start_days = rng.integers(0, 3650, n).astype("timedelta64[D]")
    starts = (np.datetime64("2014-01-01") + start_days).astype(str)
    return {
        "parties": {
            "party_key": parties,
            "kind": np.where(organisation, "organisation", "person"),
            "first_name": np.where(organisation, "", first),
            "last_name": np.where(organisation, "", last),
            "organisation_name": np.where(organisation, "Ets " + last, ""),
            "language": np.full(n, "fr"),
            "document_type": np.where(organisation, "tax_id", "national_id"),
            "document_number": np.char.add("7", np.char.zfill(np.arange(n).astype(str), 9)),
            "document_country": np.full(n, "BJ"),
            "phones": phones,
            "emails": empty,
        },
        "premises": {
            "premises_key": premises,
            "address_line": np.char.add("Rue ", np.arange(1, n + 1).astype(str)),
            "district": np.array(DISTRICTS, dtype=object)[rng.integers(0, len(DISTRICTS), n)],
            "city": np.full(n, "Cotonou"),
            "lon": np.char.mod("%.7f", sp_lon[sp] + jitter[:, 0]),
            "lat": np.char.mod("%.7f", sp_lat[sp] + jitter[:, 1]),
            "service_point_code": np.where(no_code, "", sp_codes[sp]),
        },
        "usage_points": {
            "usage_point_key": points,
            "premises_key": premises,
            "category": np.where(organisation, "commercial", "residential"),
            "subscribed_kva": kva,
            "phases": np.where(organisation, "3", "1"),
            "connection_state": np.full(n, "connected"),
        },
        "meters": {
            "serial": serials,
            "make": np.full(n, "Sagemcom"),
            "model": np.full(n, "CX1000-6"),
            "meter_type": np.where(rng.random(n) < 0.4, "prepaid", "postpaid"),
            "dial_digits": np.full(n, "6"),
            "multiplier": np.full(n, "1"),
            "phases": np.where(organisation, "3", "1"),
            "registers": np.full(n, "total"),
            "status": np.full(n, "installed"),
        },
        "installations": {
            "installation_key": _keys("I", n),
            "serial": serials,
            "usage_point_key": points,
            "installed_at": np.char.add(starts, "T08:00:00+01:00"),
            "start_indexes": np.char.add("total=", rng.integers(0, 50_000, n).astype(str)),
        },
        "contracts": {
            "contract_key": _keys("K", n),
            "holder_key": parties,
            "usage_point_key": points,
            "tariff_code": np.where(organisation, "BT2", "BT1"),
            "start_date": starts,
            "status": np.full(n, "active"),
            "account_number": np.char.zfill(np.arange(1, n + 1).astype(str), 10),
        },
    }


def write_base(folder: Path, base: dict[str, dict[str, np.ndarray]]) -> dict[str, int]:
    """The files as the format documents them (only the columns the format knows: an
    entity not registered is left out); bytes per file."""
    from core.migration.spec import entities

    known = {e.name: set(e.column_names) for e in entities()}
    sizes = {}
    for name, columns in base.items():
        if name not in known:
            continue
        table = pa.table(
            {
                c: pa.array(v.astype(str), pa.string())
                for c, v in columns.items()
                if c in known[name]
            }
        )
        path = folder / f"{name}.csv"
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))
        sizes[name] = path.stat().st_size
    return sizes


def floor_copy(url: str, folder: Path) -> float:
    """The plainest way to put the same rows in PostgreSQL: each file COPYed as it is into
    an unconstrained table of text columns, in one transaction. Seconds it took."""
    from sqlalchemy import text

    from core import db as core_db
    from core.bulk import driver

    started = time.perf_counter()
    with core_db.session_scope(url) as session:
        for path in sorted(folder.glob("*.csv")):
            columns = path.open(encoding="utf-8").readline().strip().split(",")
            table = f"bench_floor_{path.stem}"
            session.execute(
                text(f"CREATE TABLE {table} ({', '.join(f'{c} text' for c in columns)})")
            )
            sql = f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)"
            with driver(session).cursor() as cur, cur.copy(sql) as copy, path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
    return time.perf_counter() - started


def _import(url: str, folder: Path) -> tuple[float, dict]:  # type: ignore[type-arg]
    from core.context import SYSTEM, acting_as
    from core.migration.runner import import_committed
    from core.migration.service import MigrationInvalidError

    started = time.perf_counter()
    try:
        with acting_as(SYSTEM, reason="bench migration"):
            report = import_committed(actor=SYSTEM, source=folder, url=url)
    except MigrationInvalidError as refused:
        for p in refused.problems[:30]:
            print(f"  {p.file}:{p.line}:{p.field}: {p.code} {p.message}", file=sys.stderr)
        raise
    return time.perf_counter() - started, report.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="Customers to import")
    args = parser.parse_args()

    from core import db as core_db
    from core.migrate import upgrade
    from core.scratch_db import use_database

    n = args.scale
    url, drop = _database()
    use_database(url)
    try:
        upgrade(url)
        from kilowatch.bootstrap import bootstrap

        bootstrap()
        started = time.perf_counter()
        sp_codes, sp_lon, sp_lat = _network(url, n)
        print(
            f"network: {len(sp_codes)} service points, {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sizes = write_base(folder, generate_base(n, sp_codes, sp_lon, sp_lat))
            print(f"files: {sizes}", file=sys.stderr)
            first_seconds, first = _import(url, folder)
            print(f"first import: {first_seconds:.2f} s", file=sys.stderr)
            floor_seconds = floor_copy(url, folder)
            print(f"floor (plain COPY of the files): {floor_seconds:.2f} s", file=sys.stderr)
            second_seconds, second = _import(url, folder)
            print(f"second import: {second_seconds:.2f} s", file=sys.stderr)
    finally:
        core_db.get_engine(url).dispose()
        drop()
    rows = int(first["rows"])
    print(
        json.dumps(
            {
                "benchmark": "migration_import",
                "customers": n,
                "rows": rows,
                "file_bytes": sizes,
                "import_seconds": round(first_seconds, 2),
                "rows_per_second": round(rows / first_seconds),
                "target_import_seconds": 60,
                "floor_plain_copy_seconds": round(floor_seconds, 2),
                "import_to_floor_ratio": round(first_seconds / floor_seconds, 2),
                "reading_seconds": first["reading_seconds"],
                "per_entity": first["entities"],
                "second_import_seconds": round(second_seconds, 2),
                "second_per_entity": second["entities"],
                "second_import_changed": sum(
                    e["inserted"] + e["updated"] for e in second["entities"].values()
                ),
                "cpu_count": os.cpu_count(),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
