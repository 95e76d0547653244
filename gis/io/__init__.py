"""Network file formats: readers (GeoJSON, GeoPackage, OpenDSS), placement, writer, export."""
