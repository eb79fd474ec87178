"""Voice models (the Fish ``/model`` library) and their tags and languages for filtering.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_models",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("visibility", sa.String(8), nullable=False),
        sa.Column("train_mode", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("languages", sa.Text, nullable=False),
        sa.Column("clips", sa.Text, nullable=False),
        sa.Column("cover", sa.Text),
        sa.Column("profile", sa.Text),
        sa.Column("enhance_audio_quality", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("task_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_voice_models_account", "voice_models", ["account_id", "created_at"])
    op.create_index("ix_voice_models_listing", "voice_models", ["visibility", "task_count"])
    op.create_table(
        "voice_model_labels",
        sa.Column(
            "model_id",
            sa.String(32),
            sa.ForeignKey("voice_models.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("value", sa.String(100), primary_key=True),
    )
    op.create_index("ix_voice_model_labels_value", "voice_model_labels", ["kind", "value"])


def downgrade() -> None:
    op.drop_table("voice_model_labels")
    op.drop_table("voice_models")
