"""Templates: what a campaign sends (core.messages renders one per recipient).

    templates   name (unique), subject, html body, optional text body, timestamps

campaigns.template_id stays the seed's plain INTEGER (no foreign key: the seed's column stays
as it is, and rows written before this revision may name ids no template has); core checks
that a campaign names a template that exists, and refuses to delete one a campaign that has
not finished uses.

Revision ID: 0011_templates
Revises: 0010_tracking
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_templates"
down_revision: str | None = "0010_tracking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("name", name="uq_templates_name"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_templates_name"),
    )


def downgrade() -> None:
    op.drop_table("templates")
