"""The map component: a folium (Leaflet) map whose JS/CSS are served by Kilowatch itself.

folium renders the map set-up (centre, zoom, base layer, controls); pages add their own
data layers in JavaScript against the map's global variable, named ``map_name``.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium

from core.settings import get_settings

LOCAL_JS = [("leaflet", "/static/vendor/leaflet/leaflet.js")]
LOCAL_CSS = [("leaflet_css", "/static/vendor/leaflet/leaflet.css")]


@dataclass(frozen=True)
class MapParts:
    """The three pieces of a rendered map, for embedding in a page layout."""

    header: str
    html: str
    script: str
    map_name: str


def render_map(
    *, centre: tuple[float, float] | None = None, zoom: int = 13, height: str = "100%"
) -> MapParts:
    """Render a Leaflet map. ``centre`` is (lon, lat) in EPSG:4326."""
    settings = get_settings()
    lon, lat = centre or (settings.map_centre_lon, settings.map_centre_lat)
    fmap = folium.Map(
        location=[lat, lon],
        zoom_start=zoom,
        tiles=None,
        height=height,
        control_scale=True,
        prefer_canvas=True,
    )
    fmap.default_js = LOCAL_JS
    fmap.default_css = LOCAL_CSS
    if settings.tile_url:
        folium.TileLayer(
            settings.tile_url, attr=settings.tile_attribution or " ", name="Base map"
        ).add_to(fmap)
    root = fmap.get_root()
    root.render()
    return MapParts(
        header=root.header.render(),
        html=root.html.render(),
        script=root.script.render(),
        map_name=fmap.get_name(),
    )
