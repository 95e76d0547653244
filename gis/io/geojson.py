"""GeoJSON and GeoPackage reader: features with ``properties.kind`` (see gis/io/kinds.py)
in any CRS, transformed to EPSG:4326 with pyproj.

GeoJSON is parsed here (``json`` + shapely), never by GDAL: the content must be a JSON
FeatureCollection or Feature, and a feature whose geometry does not parse is a bad record
(refused), not an asset without a position. A GeoPackage (checked by ``gis.io.sniff``) is
read with pyogrio under the safe GDAL options set there; a geometry blob GDAL cannot parse
is refused too (found by comparing with the blobs SQLite holds).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.errors import NetworkFormatUnsupportedError
from gis.io.bundle import Bundle, clean
from gis.io.sniff import GDAL_SAFE_OPTIONS
from gis.io.values import record_from

WGS84 = CRS.from_epsg(4326)


def parse_crs(bundle: Bundle, declared: str | None) -> CRS | None:
    """The declared CRS, or None after naming the problem."""
    try:
        return CRS.from_user_input(declared)
    except CRSError:
        bundle.problem("file", bundle.source, f"unknown CRS {declared!r}", "unknown_crs")
        return None


@dataclass
class _Features:
    """The file's features: properties, geometries (a GeoSeries in the file's CRS) and
    the positions of those whose geometry did not parse (already named as problems)."""

    props: list[dict[str, Any]]
    geoms: gpd.GeoSeries
    bad: set[int] = field(default_factory=set)


def _stored_geometries(path: Path, layer: str) -> set[int] | None:
    """The feature ids of ``layer`` whose geometry blob is not NULL in the file, read with
    SQLite itself (read-only): GDAL turns a blob it cannot parse into no geometry, which
    must be refused, not stored as an asset without a position. None: no geometry column."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        found = db.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        ).fetchone()
        if found is None:
            return None
        key = db.execute(f'SELECT name FROM pragma_table_info("{layer}") WHERE pk = 1').fetchone()
        rows = db.execute(f'SELECT "{key[0]}" FROM "{layer}" WHERE "{found[0]}" IS NOT NULL')
        return {int(fid) for (fid,) in rows}


def _read_gpkg(path: Path, bundle: Bundle) -> _Features:
    # Process-wide options: stated again here, where they matter, in case a library
    # loaded since has changed them.
    pyogrio.set_gdal_config_options(GDAL_SAFE_OPTIONS)
    layers = [str(name) for name, _geom in pyogrio.list_layers(path)]
    frames, bad_fids = [], []
    for layer in layers:
        frame = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)
        stored = _stored_geometries(path, layer) or set()
        unparsed = {int(fid) for fid in frame.index[frame.geometry.isna()] if int(fid) in stored}
        bad_fids.append(unparsed)
        frames.append(frame)
    offset, bad = 0, set()
    for frame, unparsed in zip(frames, bad_fids, strict=True):
        for position, fid in enumerate(frame.index):
            if int(fid) in unparsed:
                props = frame.iloc[position].drop(frame.geometry.name).to_dict()
                ref = clean(props.get("code")) or clean(props.get("name")) or f"fid {fid}"
                what = str(clean(props.get("kind")) or "unknown")
                message = "geometry does not parse (GeoPackage blob)"
                bundle.problem(what, str(ref), message, "invalid_geometry")
                bad.add(offset + position)
        offset += len(frame)
    frames = [f.reset_index(drop=True) for f in frames if len(f)]
    if not frames:
        return _Features([], gpd.GeoSeries([], crs=WGS84))
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    props = frame.drop(columns=frame.geometry.name).to_dict("records")
    return _Features(props, frame.geometry, bad)


def _numbers_only(coordinates: Any) -> bool:
    """Every position is made of JSON numbers (shapely would take "2" for 2.0)."""
    if isinstance(coordinates, list):
        return all(_numbers_only(c) for c in coordinates)
    return isinstance(coordinates, (int, float)) and not isinstance(coordinates, bool)


def _geometry(value: Any) -> BaseGeometry | None:
    """A GeoJSON geometry object as shapely (None for ``null``); ValueError when it does
    not parse."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("a geometry must be a JSON object or null")
    if "coordinates" in value and not _numbers_only(value["coordinates"]):
        raise ValueError("coordinates must be numbers")
    try:
        return shape(value)
    except Exception as exc:  # shapely raises many kinds; all mean "does not parse"
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def _json_crs(document: dict[str, Any]) -> str | None:
    """The CRS a (2008-style) ``crs`` member names, e.g. ``urn:ogc:def:crs:EPSG::31983``."""
    member = document.get("crs")
    if not isinstance(member, dict):
        return None
    name = (member.get("properties") or {}).get("name")
    return str(name) if name else None


def _read_geojson(path: Path, bundle: Bundle) -> _Features | None:
    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkFormatUnsupportedError(f"{path.name!r} is not valid JSON: {exc}") from None
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == "Feature":
        features = [document]
    elif kind == "FeatureCollection" and isinstance(document.get("features"), list):
        features = document["features"]
    else:
        raise NetworkFormatUnsupportedError(
            f"{path.name!r} is JSON but not a GeoJSON FeatureCollection or Feature"
        )
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry | None] = []
    bad: set[int] = set()
    for index, item in enumerate(features):
        props = item.get("properties") if isinstance(item, dict) else None
        props = props if isinstance(props, dict) else {}
        rows.append(props)
        try:
            if not isinstance(item, dict) or item.get("type") != "Feature":
                raise ValueError("not a GeoJSON Feature")
            geom = _geometry(item.get("geometry"))
        except ValueError as exc:
            code = clean(props.get("code")) or clean(props.get("name"))
            ref = f"#{index}" if code is None else str(code)
            what = str(clean(props.get("kind")) or "unknown")
            bundle.problem(what, ref, f"geometry does not parse: {exc}", "invalid_geometry")
            bad.add(index)
            geom = None
        geoms.append(geom)
    declared = _json_crs(document)
    crs: Any = WGS84
    if declared:
        crs = parse_crs(bundle, declared)
        if crs is None:
            return None
    return _Features(rows, gpd.GeoSeries(geoms, crs=crs), bad)


def read_features(path: Path, *, fmt: str, crs: str | None) -> Bundle:
    bundle = Bundle(source=path.name, format=fmt, crs=crs or "")
    declared = parse_crs(bundle, crs) if crs else None
    if crs and declared is None:
        return bundle
    if fmt == "geojson":
        found = _read_geojson(path, bundle)
        if found is None:
            return bundle
    else:
        try:
            found = _read_gpkg(path, bundle)
        except Exception as exc:  # GDAL says why in its message
            bundle.problem("file", path.name, f"cannot read the file: {exc}", "unreadable_file")
            return bundle
    if not any("kind" in row for row in found.props):
        bundle.problem("file", path.name, "no 'kind' property on the features", "missing_property")
        return bundle
    source_crs = declared or found.geoms.crs or WGS84
    try:
        series = found.geoms.set_crs(source_crs, allow_override=True)
        bundle.crs = source_crs.to_string()
        if not CRS.from_user_input(source_crs).equals(WGS84):
            series = series.to_crs(WGS84)  # pyproj, always lon/lat order for EPSG:4326
    except (CRSError, ValueError) as exc:
        bundle.problem(
            "file", path.name, f"cannot transform from {source_crs}: {exc}", "unknown_crs"
        )
        return bundle
    geoms = list(series)
    for index, (row, geom) in enumerate(zip(found.props, geoms, strict=True)):
        if index in found.bad:
            continue
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
