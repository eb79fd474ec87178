"""Plans, limits, wallet, ledger, holds, monthly caps, top-ups and usage records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("prepaid", sa.Boolean, nullable=False, server_default="0"))
        batch.add_column(sa.Column("balance_nanos", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("topped_up_nanos", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True)))
        batch.create_check_constraint("ck_accounts_balance_not_negative", "balance_nanos >= 0")
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("tier", sa.String(16), nullable=False, server_default="standard"))
        batch.add_column(sa.Column("plan", sa.String(64), nullable=False, server_default="pro"))
        batch.add_column(sa.Column("requests_per_minute", sa.Integer))
        batch.add_column(sa.Column("concurrent_requests", sa.Integer))
        batch.add_column(sa.Column("models", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("disabled", sa.Boolean, nullable=False, server_default="0"))
        batch.add_column(sa.Column("discount_bp", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("monthly_cap_nanos", sa.BigInteger))
    op.create_table(
        "ledger",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_nanos", sa.BigInteger, nullable=False),
        sa.Column("balance_after_nanos", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ledger_account", "ledger", ["account_id", "id"])
    op.create_table(
        "holds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount_nanos", sa.BigInteger, nullable=False),
        sa.Column("charged_balance", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_holds_expires", "holds", ["expires_at"])
    op.create_table(
        "key_spend",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("spent_nanos", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "topups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("amount_nanos", sa.BigInteger, nullable=False),
        sa.Column("balance_after_nanos", sa.BigInteger, nullable=False),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_topups_idempotency"),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("units", sa.Float, nullable=False),
        sa.Column("unit_price", sa.Float, nullable=False),
        sa.Column("discount_bp", sa.Integer, nullable=False),
        sa.Column("cost_nanos", sa.BigInteger, nullable=False),
        sa.Column("balance_after_nanos", sa.BigInteger),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_index("ix_usage_key_time", "usage_records", ["key_id", "created_at"])
    op.create_index("ix_usage_account_time", "usage_records", ["account_id", "created_at"])


def downgrade() -> None:
    for table in ("usage_records", "topups", "key_spend", "holds", "ledger"):
        op.drop_table(table)
    with op.batch_alter_table("api_keys") as batch:
        for column in ("monthly_cap_nanos", "discount_bp", "disabled", "expires_at", "models",
                       "concurrent_requests", "requests_per_minute", "plan", "tier"):  # fmt: skip
            batch.drop_column(column)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("ck_accounts_balance_not_negative", type_="check")
        for column in ("updated_at", "topped_up_nanos", "balance_nanos", "prepaid"):
            batch.drop_column(column)
