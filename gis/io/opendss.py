"""OpenDSS feeder folders (ANEEL BDGD exports from bdgd2dss), read with the real OpenDSS
engine shipped by ``opendssdirect.py``.

Nothing outside the bundle is ever read: ``gis.io.dss_guard`` refuses links, file names
leading out of it and commands beyond describing a network before the engine starts.
The folder is copied to a temporary directory and the copy is repaired for Linux (the
source folder is never touched): ``Redirect``/``Compile``/``Buscoords`` targets whose case
differs from the file on disk are rewritten (``energymetersX.dss`` vs ``energyMetersX.dss``),
and the stray space of ``New monitor.MON1 _current`` is removed. The master chosen is
``Master*_DU.dss`` (working-day load shapes; the DO/SA masters have the same network), or
the only ``Master*.dss``. Distributed generation that the master leaves out of the power
flow (``!Redirect gds_X.dss``) is loaded too, so PV systems are in the inventory. Bus
coordinates come from the ``Buscoords`` file named (even commented out) in the master, or
``coord*.dss``; they are lon/lat unless ``--crs`` says otherwise.

Mapping: the circuit is the feeder; its head is the bus the substation line (``line.sub*``
from the source bus) feeds. Lines defined in ``unse*.dss`` (BDGD switching units) or with
``switch=T`` are switches: ``switch=T`` means closed and ``switch=F`` open (the BDGD
normal state; the engine cannot tell, so the declaration is read), and the ``!unid=NN=...``
comment names the device (fuse, recloser ...). Other lines are MV segments, LV segments or
service drops (``ramlig``). Transformers controlled by a RegControl are voltage regulators
(the single-phase units of one bank, ``TFreg7027A/B/C``, become one regulator); the others
are distribution transformers. Loads split as ``name-1``/``name-2`` (two load models) are
one consumer unit whose ``kw_avg`` is the sum; ``ucbt`` loads are LV consumer units,
``ucmt`` MV consumer units, ``pip`` public lighting; PVSystems are generation points.
Element names keep the case of their declaration (the engine lower-cases them), so codes
match the GeoJSON twin of the same feeder; bus names are lower case.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyproj import CRS, Transformer
from shapely.geometry import Point

from gis.enums import SegmentKind, ServicePointKind, VoltageLevel
from gis.io.bundle import Bundle, Record
from gis.io.dss_guard import check_scripts, check_tree
from gis.io.geojson import WGS84, parse_crs
from gis.io.kinds import switch_kind_from

# The engine is one global state per process, driven by one thread: one import at a time.
_ENGINE_LOCK = threading.Lock()
_EXECUTOR: ThreadPoolExecutor | None = None
_DECLARATION = re.compile(r'^\s*new\s+"?([a-z]+)\.([^\s"]+)"?(.*)$', re.IGNORECASE)
_FILE_COMMAND = re.compile(r"^(\s*!?\s*(?:redirect|compile|buscoords)\s+)(\S+)(.*)$", re.I)
_MONITOR_SPACE = re.compile(r"^(\s*new\s+monitor\.\S+?)\s+(_\S+)", re.IGNORECASE)
_SPLIT_LOAD = re.compile(r"^(.*)-(\d+)$")
_UNITS_TO_M = {
    0: 1000.0,
    1: 1609.344,
    2: 304.8,
    3: 1000.0,
    4: 1.0,
    5: 0.3048,
    6: 0.0254,
    7: 0.01,
    8: 0.001,
}


@dataclass(frozen=True)
class Declaration:
    original: str  # the name as written (case kept)
    stem: str  # lower-case stem of the file that declares it
    comment: str  # text after "!" on the declaration line


def _writable_copy(source: Path, into: Path) -> Path:
    work = into / source.name
    shutil.copytree(source, work)
    for path in work.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    work.chmod(work.stat().st_mode | stat.S_IWUSR)
    return work


def _repair(work: Path, bundle: Bundle) -> None:
    """Fix the Windows-made quirks in the copy (see module doc)."""
    by_lower = {p.name.lower(): p.name for p in work.iterdir() if p.is_file()}
    for path in work.glob("*.dss"):
        original = path.read_text(encoding="latin-1")
        lines = []
        for line in original.splitlines():
            match = _FILE_COMMAND.match(line)
            if match and not (work / match.group(2)).exists():
                actual = by_lower.get(match.group(2).lower())
                if actual:
                    line = f"{match.group(1)}{actual}{match.group(3)}"
                    bundle.warnings.append(f"{path.name}: file name case fixed ({actual})")
            fixed = _MONITOR_SPACE.sub(r"\1\2", line)
            if fixed != line:
                bundle.warnings.append(f"{path.name}: stray space in a monitor name removed")
            lines.append(fixed)
        text = "\n".join(lines) + "\n"
        if text != original:
            path.write_text(text, encoding="latin-1")


def _master(work: Path) -> Path | None:
    masters = sorted(p for p in work.glob("*.dss") if p.name.lower().startswith("master"))
    for path in masters:
        if path.stem.lower().endswith("_du"):
            return path
    return masters[0] if masters else None


def _declarations(work: Path) -> dict[tuple[str, str], Declaration]:
    found: dict[tuple[str, str], Declaration] = {}
    for path in sorted(work.glob("*.dss")):
        stem = path.stem.lower()
        for line in path.read_text(encoding="latin-1").splitlines():
            match = _DECLARATION.match(line)
            if match:
                cls, name, rest = match.group(1).lower(), match.group(2), match.group(3)
                comment = rest.split("!", 1)[1].strip() if "!" in rest else ""
                found[(cls, name.lower())] = Declaration(name, stem, comment)
    return found


def _bus(name: str) -> str:
    return name.split(".", 1)[0].lower()


def read_opendss(path: Path, *, crs: str | None) -> Bundle:
    """Read an OpenDSS feeder folder (or its master file) into a Bundle."""
    folder = path.parent if path.is_file() else path
    bundle = Bundle(source=folder.name, format="opendss", crs=crs or "EPSG:4326")
    source_crs = parse_crs(bundle, crs) if crs else WGS84
    if source_crs is None:
        return bundle
    if not folder.is_dir():
        bundle.problem("file", path.name, "not an OpenDSS folder", "unreadable_file")
        return bundle
    check_tree(folder)  # before copying: a copy would follow a symbolic link
    with tempfile.TemporaryDirectory(prefix="kw-dss-") as tmp:
        work = _writable_copy(folder, Path(tmp))
        _repair(work, bundle)
        master = work / path.name if path.is_file() else _master(work)
        if master is None or not master.exists():
            bundle.problem("file", folder.name, "no Master*.dss file", "unreadable_file")
            return bundle
        check_scripts(work, master)  # the engine runs only files of the bundle
        declarations = _declarations(work)
        engine = _Engine(bundle, master, declarations, source_crs)
        _engine_thread().submit(_run, engine).result()
    return bundle


def _run(engine: _Engine) -> None:
    cwd = os.getcwd()
    try:
        engine.read()
    finally:
        os.chdir(cwd)  # Compile changes the working directory


def _engine_thread() -> ThreadPoolExecutor:
    """The one thread that ever drives the engine: its native state crashes when it is
    used from one thread after another (as a web server's worker threads would), and it
    needs a deeper stack than a default worker thread."""
    global _EXECUTOR
    with _ENGINE_LOCK:
        if _EXECUTOR is None:
            previous = threading.stack_size(64 * 1024 * 1024)
            try:
                _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opendss")
                _EXECUTOR.submit(lambda: None).result()  # start the thread with that stack
            finally:
                threading.stack_size(previous)
        return _EXECUTOR


class _Engine:
    """One pass over the compiled circuit with opendssdirect."""

    def __init__(
        self,
        bundle: Bundle,
        master: Path,
        declarations: dict[tuple[str, str], Declaration],
        crs: CRS,
    ) -> None:
        import opendssdirect

        self.dss = opendssdirect
        self.bundle = bundle
        self.master = master
        self.decl = declarations
        self.to_wgs84 = (
            None if crs.equals(WGS84) else Transformer.from_crs(crs, WGS84, always_xy=True)
        )

    def name(self, cls: str, lower: str) -> Declaration:
        return self.decl.get((cls, lower), Declaration(lower, "", ""))

    def command(self, command: str) -> bool:
        try:
            self.dss.Text.Command(command)
        except Exception as exc:  # the engine's own message names the file and line
            self.bundle.problem("file", self.master.name, f"OpenDSS: {exc}", "opendss_error")
            return False
        return True

    def read(self) -> None:
        dss = self.dss
        if not self.command("Clear") or not self.command(f'Compile "{self.master}"'):
            return
        master_text = self.master.read_text(encoding="latin-1")
        for match in re.finditer(r"(?im)^\s*!\s*redirect\s+(gds\S*\.dss)", master_text):
            self.command(f'Redirect "{self.master.parent / match.group(1)}"')
        self.command("MakeBusList")
        coords = re.search(r"(?im)^\s*!?\s*buscoords\s+(\S+)", master_text)
        coord_file = self.master.parent / coords.group(1) if coords else None
        if coord_file is None or not coord_file.exists():
            coord_file = next(iter(sorted(self.master.parent.glob("coord*.dss"))), None)
        if coord_file is not None:
            self.command(f'Buscoords "{coord_file}"')
        if self.bundle.problems:
            return
        dss.Vsources.First()
        source_bus = _bus(dss.CktElement.BusNames()[0])
        nominal_kv = float(dss.Vsources.BasekV())
        nodes = self._buses(source_bus)
        head = self._lines(source_bus)
        if head is None:  # no substation line: the source bus is the head
            head = source_bus
        else:
            nodes.pop(source_bus, None)
        self.bundle.nodes = nodes
        circuit = self.name("circuit", dss.Circuit.Name().lower()).original
        where = nodes.get(head)
        self.bundle.records.insert(
            0,
            Record(
                kind="feeder_head",
                code=circuit,
                ref=circuit,
                buses=(head,),
                geom=None if where is None else Point(where),
                values={"name": circuit, "nominal_kv": nominal_kv},
            ),
        )
        self._transformers()
        self._loads()
        self._pv_systems()

    def _buses(self, source_bus: str) -> dict[str, tuple[float, float] | None]:
        dss = self.dss
        nodes: dict[str, tuple[float, float] | None] = {}
        for name in dss.Circuit.AllBusNames():
            dss.Circuit.SetActiveBus(name)
            xy = None
            if dss.Bus.Coorddefined():
                x, y = float(dss.Bus.X()), float(dss.Bus.Y())
                if self.to_wgs84 is not None:
                    x, y = self.to_wgs84.transform(x, y)
                xy = (x, y)
            nodes[name.lower()] = xy
        return nodes

    def _lines(self, source_bus: str) -> str | None:
        """Add segments and switches; return the head bus (fed by the substation line)."""
        dss, head = self.dss, None
        ok = dss.Lines.First()
        while ok:
            lower = dss.Lines.Name().lower()
            decl = self.name("line", lower)
            bus1, bus2 = _bus(dss.Lines.Bus1()), _bus(dss.Lines.Bus2())
            if source_bus in (bus1, bus2):
                head = bus2 if bus1 == source_bus else bus1
                ok = dss.Lines.Next()
                continue
            closed_switch = bool(dss.Lines.IsSwitch())
            phases = int(dss.Lines.Phases())
            if decl.stem.startswith("unse") or closed_switch:
                is_open = not closed_switch or not dss.CktElement.Enabled()
                attributes: dict[str, Any] = {"phases": phases}
                if decl.comment:
                    attributes["device"] = decl.comment
                self.bundle.records.append(
                    Record(
                        kind="switch",
                        code=decl.original,
                        ref=decl.original,
                        buses=(bus1, bus2),
                        values={
                            "is_open": is_open,
                            "normal_open": is_open,
                            "kind": switch_kind_from(decl.comment),
                        },
                        attributes=attributes,
                    )
                )
            else:
                length_m = float(dss.Lines.Length()) * _UNITS_TO_M.get(int(dss.Lines.Units()), 1.0)
                kind = (
                    "service_drop"
                    if decl.stem.startswith("ramlig") or lower.startswith("ram")
                    else (
                        "mv_segment"
                        if decl.stem.startswith("ssdmt") or lower.startswith("mt")
                        else "lv_segment"
                    )
                )
                self.bundle.records.append(
                    Record(
                        kind=kind,
                        code=decl.original,
                        ref=decl.original,
                        buses=(bus1, bus2),
                        values={
                            "kind": SegmentKind.SERVICE_DROP
                            if kind == "service_drop"
                            else SegmentKind.UNKNOWN,
                            "voltage_level": VoltageLevel.MV
                            if kind == "mv_segment"
                            else VoltageLevel.LV,
                            "phases": phases,
                            "conductor": dss.Lines.LineCode() or None,
                            "length_m": length_m,
                        },
                    )
                )
            ok = dss.Lines.Next()
        return head

    def _transformers(self) -> None:
        dss = self.dss
        regulated: set[str] = set()
        ok = dss.RegControls.First()
        while ok:
            regulated.add(dss.RegControls.Transformer().lower())
            ok = dss.RegControls.Next()
        banks: dict[tuple[str, str, str], dict[str, Any]] = {}
        ok = dss.Transformers.First()
        while ok:
            lower = dss.Transformers.Name().lower()
            decl = self.name("transformer", lower)
            buses = [_bus(b) for b in dss.CktElement.BusNames()]
            windings = []
            for w in range(1, int(dss.Transformers.NumWindings()) + 1):
                dss.Transformers.Wdg(w)
                windings.append((float(dss.Transformers.kV()), float(dss.Transformers.kVA())))
            phases = int(dss.CktElement.NumPhases())
            if lower in regulated:
                base = re.sub(r"[abc]$", "", decl.original, flags=re.IGNORECASE)
                bank = banks.setdefault((base, buses[0], buses[1]), {"phases": 0, "kva": 0.0})
                bank["phases"] += phases
                bank["kva"] = windings[0][1]
            else:
                self.bundle.records.append(
                    Record(
                        kind="distribution_transformer",
                        code=decl.original,
                        ref=decl.original,
                        buses=(buses[0], buses[1]),
                        values={
                            "rated_kva": windings[0][1],
                            "phases": phases,
                            "primary_kv": windings[0][0],
                            "secondary_kv": windings[1][0] if len(windings) > 1 else None,
                        },
                        attributes={"windings": len(windings)},
                    )
                )
            ok = dss.Transformers.Next()
        for (code, bus1, bus2), bank in banks.items():
            self.bundle.records.append(
                Record(
                    kind="voltage_regulator",
                    code=code,
                    ref=code,
                    buses=(bus1, bus2),
                    values={
                        "kind": SegmentKind.REGULATOR,
                        "voltage_level": VoltageLevel.MV,
                        "phases": bank["phases"],
                        "conductor": None,
                        "length_m": None,
                    },
                    attributes={"kva_per_phase": bank["kva"]},
                )
            )

    def _loads(self) -> None:
        dss = self.dss
        units: dict[str, dict[str, Any]] = defaultdict(lambda: {"kw": 0.0})
        ok = dss.Loads.First()
        while ok:
            lower = dss.Loads.Name().lower()
            decl = self.name("load", lower)
            match = _SPLIT_LOAD.match(decl.original)
            code = match.group(1) if match else decl.original
            unit = units[code]
            unit["kw"] += float(dss.Loads.kW())
            unit.setdefault("bus", _bus(dss.CktElement.BusNames()[0]))
            unit.setdefault("stem", decl.stem)
            unit.setdefault("phases", int(dss.CktElement.NumPhases()))
            unit.setdefault("kv", float(dss.Loads.kV()))
            unit.setdefault("loadshape", dss.Loads.Daily() or None)
            ok = dss.Loads.Next()
        for code, unit in units.items():
            stem, lower = unit["stem"], code.lower()
            if stem.startswith("pip") or lower.startswith("pip"):
                kind = "public_lighting"
            elif stem.startswith("ucmt") or (not stem.startswith("ucbt") and unit["kv"] > 1.0):
                kind = "mv_consumer_unit"
            else:
                kind = "lv_consumer_unit"
            model_kind = {
                "public_lighting": ServicePointKind.PUBLIC_LIGHTING,
                "mv_consumer_unit": ServicePointKind.MV_CONNECTION,
                "lv_consumer_unit": ServicePointKind.CONNECTION,
            }[kind]
            self.bundle.records.append(
                Record(
                    kind=kind,
                    code=code,
                    ref=code,
                    buses=(unit["bus"],),
                    values={"kind": model_kind},
                    attributes={
                        "phases": unit["phases"],
                        "kv": unit["kv"],
                        "kw_avg": unit["kw"],
                        "loadshape": unit["loadshape"],
                    },
                )
            )

    def _pv_systems(self) -> None:
        dss = self.dss
        ok = dss.PVsystems.First()
        while ok:
            decl = self.name("pvsystem", dss.PVsystems.Name().lower())
            self.bundle.records.append(
                Record(
                    kind="pv_system",
                    code=decl.original,
                    ref=decl.original,
                    buses=(_bus(dss.CktElement.BusNames()[0]),),
                    values={"kind": ServicePointKind.GENERATION},
                    attributes={"kva": float(dss.PVsystems.kVARated())},
                )
            )
            ok = dss.PVsystems.Next()
