"""An uploaded network file is read for what its content is, and reads nothing outside
itself: no GDAL VRT behind a .geojson name, no OpenDSS command naming a server file."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.context import SYSTEM
from gis import service
from gis.errors import NetworkFileRefusedError
from tests.conftest import bearer
from tests.gis.test_topology_api import BASE

MASTER = """Clear
New circuit.LEAK bus1=src basekv=13.8
New line.subLEAK bus1=src bus2=h phases=3 length=0.01 units=km
{extra}
"""


@pytest.fixture()
def admin(make_user) -> dict[str, str]:
    return bearer(make_user("admin"))


@pytest.fixture()
def secret(tmp_path: Path) -> tuple[Path, str]:
    """A server file nobody may read through an upload, with a unique line."""
    marker = f"SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(f"{marker}\nNew line.x bus1=a bus2=b\n")
    return path, marker


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_gdal_vrt_named_geojson_is_refused_without_reading_its_target(
    client: TestClient, admin: dict, secret: tuple[Path, str]
) -> None:
    path, marker = secret
    vrt = (
        "<OGRVRTDataSource><OGRVRTLayer name='x'>"
        f"<SrcDataSource>CSV:{path}</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    )
    for name in ("network.geojson", "network.gpkg", "network.zip"):
        answer = client.post(
            f"{BASE}/imports", headers=admin, files={"file": (name, vrt, "application/geo+json")}
        )
        assert answer.status_code == 422, name
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "network_format_unsupported"
        assert marker not in answer.text and "SrcDataSource" not in answer.text


@pytest.mark.parametrize(
    "extra",
    [
        "Redirect {secret}",
        "Compile ({secret})",
        '!Redirect "{secret}"',
        "Buscoords ../{name}",
        "New loadshape.ls npts=1 mult=(file={secret})",
        "DOScmd cat {secret}",
        "Set datapath={folder}",
    ],
)
def test_an_opendss_bundle_naming_a_file_outside_itself_is_refused(
    client: TestClient, admin: dict, secret: tuple[Path, str], extra: str
) -> None:
    path, marker = secret
    line = extra.format(secret=path, name=path.name, folder=path.parent)
    bundle = _zip({"LEAK/Master_LEAK.dss": MASTER.format(extra=line)})
    answer = client.post(
        f"{BASE}/imports", headers=admin, files={"file": ("leak.zip", bundle, "application/zip")}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "network_file_refused"
    assert "Master_LEAK.dss line 4" in answer.json()["detail"]
    assert marker not in answer.text


def test_a_symbolic_link_in_an_opendss_folder_is_refused(
    db: Session, tmp_path: Path, secret: tuple[Path, str]
) -> None:
    path, marker = secret
    folder = tmp_path / "feeder"
    folder.mkdir()
    (folder / "Master_X.dss").write_text(MASTER.format(extra="Redirect lines.dss"))
    (folder / "lines.dss").symlink_to(path)
    with pytest.raises(NetworkFileRefusedError) as caught:
        service.import_network(db, actor=SYSTEM, path=folder)
    assert "lines.dss" in caught.value.detail and marker not in caught.value.detail


def test_a_bundle_inside_itself_still_imports(client: TestClient, admin: dict) -> None:
    master = MASTER.format(extra="Redirect sub/loads.dss\nBuscoords coords.dss")
    bundle = _zip(
        {
            "F/Master_F.dss": master,
            "F/sub/loads.dss": "New load.L1 bus1=h kv=13.8 kw=10\n",
            "F/coords.dss": "src, -48.0, -18.0\nh, -48.001, -18.0\n",
        }
    )
    answer = client.post(
        f"{BASE}/imports", headers=admin, files={"file": ("f.zip", bundle, "application/zip")}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["feeders"] == ["LEAK"]
