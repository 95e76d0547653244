"""GeoJSON and GeoPackage reader (geopandas + pyogrio): features with ``properties.kind``
(see gis/io/kinds.py) in any CRS, transformed to EPSG:4326 with pyproj."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.io.bundle import Bundle, clean
from gis.io.values import record_from

WGS84 = CRS.from_epsg(4326)


def parse_crs(bundle: Bundle, declared: str | None) -> CRS | None:
    """The declared CRS, or None after naming the problem."""
    try:
        return CRS.from_user_input(declared)
    except CRSError:
        bundle.problem("file", bundle.source, f"unknown CRS {declared!r}", "unknown_crs")
        return None


def _read_frames(path: Path, fmt: str) -> gpd.GeoDataFrame:
    if fmt == "gpkg":
        layers = [str(name) for name, _geom in pyogrio.list_layers(path)]
        frames = [gpd.read_file(path, layer=layer, engine="pyogrio") for layer in layers]
        frames = [f for f in frames if len(f)]
        if not frames:
            return gpd.GeoDataFrame({"kind": []}, geometry=[], crs=WGS84)
        crs = frames[0].crs
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)
    return gpd.read_file(path, engine="pyogrio")


def read_features(path: Path, *, fmt: str, crs: str | None) -> Bundle:
    bundle = Bundle(source=path.name, format=fmt, crs=crs or "")
    declared = parse_crs(bundle, crs) if crs else None
    if crs and declared is None:
        return bundle
    try:
        frame = _read_frames(path, fmt)
    except Exception as exc:  # GDAL says why in its message
        bundle.problem("file", path.name, f"cannot read the file: {exc}", "unreadable_file")
        return bundle
    if "kind" not in frame.columns:
        bundle.problem("file", path.name, "no 'kind' property on the features", "missing_property")
        return bundle
    source_crs = declared or frame.crs or WGS84
    try:
        frame = frame.set_crs(source_crs, allow_override=True)
        bundle.crs = source_crs.to_string()
        if not CRS.from_user_input(source_crs).equals(WGS84):
            frame = frame.to_crs(WGS84)  # pyproj, always lon/lat order for EPSG:4326
    except (CRSError, ValueError) as exc:
        bundle.problem(
            "file", path.name, f"cannot transform from {source_crs}: {exc}", "unknown_crs"
        )
        return bundle
    geoms = list(frame.geometry)
    props = frame.drop(columns=frame.geometry.name).to_dict("records")
    for index, (row, geom) in enumerate(zip(props, geoms, strict=True)):
        row = {k: clean(v) for k, v in row.items()}
        record = record_from(bundle, index, row, geom)
        if record is None:
            continue
        if record.kind == "node":
            if bundle.nodes is None:
                bundle.nodes = {}
            point = record.geom
            bundle.nodes[record.code.lower()] = None if point is None else (point.x, point.y)
            continue
        bundle.records.append(record)
    return bundle
