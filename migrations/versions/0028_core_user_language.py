"""core: a staff user's interface language

Revision ID: 0028
Revises: 0027

The pages speak French, English or Portuguese (``core.i18n``); a user who picks one from the
page header keeps it on every device. Empty: the browser's Accept-Language decides, else the
deployment's locale. Customers already carry theirs (``customer_party.language`` and
``customer_account.language``, what their documents are written in).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("core_user", sa.Column("language", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("core_user", "language")
