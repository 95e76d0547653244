"""customers: portal notification preferences as a channel per kind and a language

Revision ID: 0024
Revises: 0023

The first portal stored ``{"invoice": true, "outage": false ...}`` on each identity; the
preferences now name a channel per kind (email, sms, letter, none) and a language
(``customers.portal.preferences``). A kind that was on keeps the sign-in channel, one that
was off becomes ``none`` (invoices are always sent); the language is the party's when
Kilowatch speaks it (``core.i18n.LANGUAGES``), else French. Downgrade turns them back into
true/false (on unless ``none``).
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

KINDS = ("invoice", "payment", "connection", "case", "outage")


_CHANNELS = ", ".join(
    f"'{kind}', CASE WHEN (i.preferences ->> '{kind}') = 'false' AND '{kind}' <> 'invoice'"
    f" THEN 'none' ELSE i.channel END"
    for kind in KINDS
)
UPGRADE_SQL = f"""
    UPDATE customer_portal_identity AS i
    SET preferences = jsonb_build_object(
        'language', CASE WHEN p.language IN ('fr', 'en', 'pt')
            THEN p.language ELSE 'fr' END,
        'channels', jsonb_build_object({_CHANNELS}))
    FROM customer_party AS p
    WHERE p.id = i.party_id AND NOT (i.preferences ? 'channels')
"""
_FLAGS = ", ".join(
    f"'{kind}', (i.preferences -> 'channels' ->> '{kind}') IS DISTINCT FROM 'none'"
    for kind in KINDS
)
DOWNGRADE_SQL = f"""
    UPDATE customer_portal_identity AS i
    SET preferences = jsonb_build_object({_FLAGS})
    WHERE i.preferences ? 'channels'
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
