"""Technical losses of a feeder and of each of its transformer zones, measured by a real
load flow: the feeder's OpenDSS model (an ANEEL BDGD folder, the one ``gis.io.opendss``
imports) solved with the engine of ``opendssdirect.py``, over its daily load shapes
(24 x 1 h), at several load levels (``LoadMult``).

The folder goes through the same guards and Linux repairs as an import (a temporary copy;
the source is never touched, nothing outside it is run), and the engine is driven by the
one thread ``gis.io.opendss`` keeps for it (its native state cannot move between threads).

Zones, from the solved circuit (no database needed): a distribution transformer's zone is
the transformer and every element whose first bus is reached from its LV bus through lines
(LV lines, service drops, its neutral reactor); the feeder's zone is every element past the
substation line (the feeder head). Energy in: the power entering each transformer's MV
terminal, and the power leaving the substation line into the head. Losses: the engine's
per-element losses (``Circuit.AllElementLosses``), summed per zone and over the day.
Units: kWh per day.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.errors import NetworkFileRefusedError
from gis.io.bundle import Bundle
from gis.io.dss_guard import check_scripts, check_tree

# The importer's helpers: the same repairs and the same engine thread (see module doc).
from gis.io.opendss import _engine_thread, _master, _repair, _writable_copy

# Power-delivery elements: what conducts and loses energy. The engine reports the power
# drawn by loads (and given by sources) in the same array: those are not losses.
LOSING_CLASSES = ("line.", "transformer.", "reactor.", "capacitor.")
MULTIPLIERS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
HOURS = 24


@dataclass
class ZoneFlow:
    """One zone's daily energy in and losses at each load level (kWh per day)."""

    energy_in: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    def samples(self) -> list[list[float]]:
        return [
            [round(e, 6), round(loss, 6)]
            for e, loss in zip(self.energy_in, self.losses, strict=True)
        ]


@dataclass
class LoadFlowResult:
    """Per load multiplier: the feeder's and each transformer zone's energy and losses, and
    the engine's own total (``Circuit.Losses``, substation line included) to check against."""

    feeder: str  # the circuit's name as declared (the imported feeder's code)
    source: str  # the folder solved
    multipliers: tuple[float, ...]
    feeder_zone: ZoneFlow
    transformers: dict[str, ZoneFlow]  # by transformer code, lower case
    circuit_losses: list[float]
    warnings: list[str]


def solve_feeder(folder: Path, multipliers: tuple[float, ...] = MULTIPLIERS) -> LoadFlowResult:
    """Solve the OpenDSS feeder in ``folder`` at each load level (see module doc)."""
    if not folder.is_dir():
        raise NetworkFileRefusedError(f"{folder.name}: not an OpenDSS folder")
    check_tree(folder)
    bundle = Bundle(source=folder.name, format="opendss", crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="kw-lf-") as tmp:
        work = _writable_copy(folder, Path(tmp))
        _repair(work, bundle)
        master = _master(work)
        if master is None:
            raise NetworkFileRefusedError(f"{folder.name}: no Master*.dss file")
        check_scripts(work, master)
        return (
            _engine_thread()
            .submit(_run, master, folder.name, multipliers, bundle.warnings)
            .result()
        )


def _run(
    master: Path, source: str, multipliers: tuple[float, ...], warnings: list[str]
) -> LoadFlowResult:
    cwd = os.getcwd()
    try:
        return _Solver(master).solve(source, multipliers, warnings)
    finally:
        os.chdir(cwd)  # Compile changes the working directory


def _bus(name: str) -> str:
    return name.split(".", 1)[0].lower()


class _Solver:
    def __init__(self, master: Path) -> None:
        import opendssdirect

        self.dss: Any = opendssdirect
        self.dss.Text.Command("Clear")
        self.dss.Text.Command(f'Compile "{master}"')

    def _zones(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """The substation line, and the transformer zone of each element (by first bus)."""
        dss = self.dss
        dss.Vsources.First()
        source_bus = _bus(dss.CktElement.BusNames()[0])
        adjacency: dict[str, list[str]] = defaultdict(list)
        substation = ""
        ok = dss.Lines.First()
        while ok:
            a, b = _bus(dss.Lines.Bus1()), _bus(dss.Lines.Bus2())
            if source_bus in (a, b):
                substation = f"line.{dss.Lines.Name().lower()}"
            elif dss.CktElement.Enabled():
                adjacency[a].append(b)
                adjacency[b].append(a)
            ok = dss.Lines.Next()
        regulated = set()
        ok = dss.RegControls.First()
        while ok:
            regulated.add(dss.RegControls.Transformer().lower())
            ok = dss.RegControls.Next()
        bus_zone: dict[str, str] = {}
        transformers: dict[str, str] = {}  # element name -> code
        ok = dss.Transformers.First()
        while ok:
            code = dss.Transformers.Name().lower()
            if code not in regulated:
                transformers[f"transformer.{code}"] = code
                queue = deque([_bus(dss.CktElement.BusNames()[1])])
                while queue:
                    bus = queue.popleft()
                    if bus in bus_zone:
                        continue
                    bus_zone[bus] = code
                    queue.extend(adjacency[bus])
            ok = dss.Transformers.Next()
        element_zone = dict(transformers.items())
        for name in dss.Circuit.AllElementNames():
            lower = name.lower()
            if lower in element_zone:
                continue
            dss.Circuit.SetActiveElement(name)
            zone = bus_zone.get(_bus(dss.CktElement.BusNames()[0]))
            if zone is not None:
                element_zone[lower] = zone
        return substation, element_zone, transformers

    def _terminal_one_kw(self, element: str) -> float:
        dss = self.dss
        dss.Circuit.SetActiveElement(element)
        powers = dss.CktElement.Powers()
        return float(sum(powers[0 : 2 * int(dss.CktElement.NumConductors()) : 2]))

    def solve(
        self, source: str, multipliers: tuple[float, ...], warnings: list[str]
    ) -> LoadFlowResult:
        dss = self.dss
        substation, element_zone, transformers = self._zones()
        names = [n.lower() for n in dss.Circuit.AllElementNames()]
        feeder = dss.Circuit.Name()
        feeder_zone = ZoneFlow()
        zones = {code: ZoneFlow() for code in transformers.values()}
        circuit_losses = []
        for multiplier in multipliers:
            dss.Text.Command(f"Set LoadMult={multiplier}")
            dss.Text.Command("Set mode=daily stepsize=1h number=1 hour=0")
            losses: dict[str, float] = defaultdict(float)
            energy: dict[str, float] = defaultdict(float)
            head_in = feeder_losses = total = 0.0
            at_substation = names.index(substation) if substation in names else None
            for _hour in range(HOURS):
                dss.Solution.Solve()
                if not dss.Solution.Converged():
                    warnings.append(f"load flow did not converge at x{multiplier}, hour {_hour}")
                values = dss.Circuit.AllElementLosses()
                for i, name in enumerate(names):
                    kw = float(values[2 * i])
                    # The substation line lies before the head.
                    if not name.startswith(LOSING_CLASSES) or name == substation:
                        continue
                    feeder_losses += kw
                    zone = element_zone.get(name)
                    if zone is not None:
                        losses[zone] += kw
                for element, code in transformers.items():
                    energy[code] += self._terminal_one_kw(element)
                # Into the head: what the source gives, less the substation line's loss.
                before_head = 0.0 if at_substation is None else float(values[2 * at_substation])
                head_in += -float(dss.Circuit.TotalPower()[0]) - before_head
                total += float(dss.Circuit.Losses()[0]) / 1000.0
            feeder_zone.energy_in.append(head_in)
            feeder_zone.losses.append(feeder_losses)
            circuit_losses.append(total)
            for code, flow in zones.items():
                flow.energy_in.append(energy[code])
                flow.losses.append(losses[code])
        return LoadFlowResult(
            feeder=feeder,
            source=source,
            multipliers=multipliers,
            feeder_zone=feeder_zone,
            transformers=zones,
            circuit_losses=circuit_losses,
            warnings=warnings,
        )
