"""Settings from ``KILOWATCH_*`` environment variables (and an optional ``.env`` file).

Secrets are never in the repository: with no ``KILOWATCH_SECRET_KEY`` a random key is
generated once into the project-local data folder (mode 0600) and reused.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


def project_root() -> Path:
    """The checkout holding ``pyproject.toml`` (editable installs), else the working folder."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


class Settings(BaseSettings):
    """Deployment settings; every field maps to ``KILOWATCH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="KILOWATCH_", env_file=".env", extra="ignore")

    database_url: str | None = None
    broker_url: str | None = None
    data_dir: Path = Field(default_factory=lambda: project_root() / ".kilowatch")
    secret_key: str | None = None
    access_token_minutes: int = 8 * 60
    # Failed sign-ins within `login_window_seconds` (core.auth.service.authenticate):
    # - `login_max_failures` for one username from one client address locks that pair;
    # - `login_max_failures_per_client` from one address (any usernames) locks the address;
    # - `login_max_failures_per_username` (any addresses) locks the username everywhere:
    #   much higher, so one client's guesses never lock the real user out of their account.
    login_max_failures: int = 5
    login_max_failures_per_client: int = 20
    login_max_failures_per_username: int = 100
    login_window_seconds: int = 900
    # Reverse proxies (IPs or CIDRs, e.g. "10.0.0.0/8,127.0.0.1") whose X-Forwarded-For is
    # believed; from anyone else the header is ignored. Empty: the peer is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request bodies, counted while they are read (api/body_limits.py): JSON and forms,
    # and uploads (multipart and any other content type, which also need a valid token).
    max_json_bytes: int = Field(default=1 * MIB, ge=0)
    max_upload_bytes: int = Field(default=200 * MIB, ge=0)
    # Base-map tiles: empty means no base map (offline); e.g. an OSM tile server URL template.
    tile_url: str = ""
    tile_attribution: str = ""
    map_centre_lon: float = 2.3912  # Cotonou: a sensible default for a West African utility
    map_centre_lat: float = 6.3703
    # Metric work (distances, buffers) happens in this projected CRS; EPSG:32631 = UTM 31N.
    projected_crs: str = "EPSG:32631"
    timezone: str = "Africa/Porto-Novo"
    currency: str = "XOF"
    # ISO 3166 country whose public holidays are not working days (the `holidays` package).
    country: str = "BJ"
    locale: str = "fr_BJ"
    log_level: str = "INFO"
    log_json: bool = False
    # Photos received from handhelds (mobile_sync), content-addressed by sha256; empty:
    # ``<data_dir>/attachments``. One photo may not pass ``sync_attachment_max_bytes``.
    sync_attachments_dir: Path | None = None
    sync_attachment_max_bytes: int = Field(default=20 * MIB, ge=1)
    # Extra modules that register event handlers (plugins, tests); comma-separated.
    event_handler_modules: str = ""
    # Messages to customers (core.notify): a gateway per channel. "recording" sends
    # nothing and keeps messages in memory (tests, demos, a machine without a mail server).
    email_backend: str = "recording"  # smtp | recording
    email_from: str = "billing@kilowatch.invalid"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_implicit_tls: bool = False
    sms_backend: str = "recording"  # http | recording
    sms_gateway_url: str = ""
    sms_gateway_token: str | None = None
    sms_sender: str = "KILOWATCH"
    # The issuer printed on invoices (billing.documents); address lines separated by ";".
    utility_name: str = "Kilowatch Electricity"
    utility_address: str = ""
    utility_tax_id: str = ""
    utility_phone: str = ""
    utility_email: str = ""
    utility_website: str = ""
    utility_bank_account: str = ""
    utility_bic: str = ""
    # Mobile-money operators' callbacks (billing.payments.mobile_money) authenticate with an
    # HMAC-SHA256 signature of the body under this shared secret, or by calling from an
    # address of the allowlist (IPs or CIDRs). With neither set, every callback is refused.
    mobile_money_secret: str | None = None
    mobile_money_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Cheques (billing.payments.cheques): the fee a bounced cheque adds (minor units), and
    # the number of bounced cheques after which an account may no longer pay by cheque.
    cheque_bounce_fee: int = Field(default=2_500, ge=0)
    cheque_bounce_limit: int = Field(default=2, ge=1)
    # SEPA direct debit (billing.payments.direct_debit): the utility's creditor identifier
    # (pain.008 CdtrSchmeId; the creditor IBAN and BIC are utility_bank_account / utility_bic)
    # and the fee a returned debit adds (minor units; 0: none).
    sepa_creditor_id: str = "DE98ZZZ09999999999"
    direct_debit_return_fee: int = Field(default=1_500, ge=0)
    # Stored answers of Idempotency-Key requests are forgotten after this many hours
    # (core.purge_idempotency_keys, hourly in the beat schedule).
    idempotency_key_retention_hours: int = Field(default=72, ge=1)

    @field_validator("trusted_proxies", "mobile_money_allowlist", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        """A comma-separated environment variable, or a list; each entry must parse."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return items
        proxies = [str(item).strip() for item in items if str(item).strip()]
        for proxy in proxies:
            ipaddress.ip_network(proxy, strict=False)  # ValueError -> a settings error
        return proxies

    @property
    def projected_srid(self) -> int:
        """The SRID of ``projected_crs`` ("EPSG:32631" -> 32631), for ST_Transform."""
        return int(self.projected_crs.split(":")[-1])

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
