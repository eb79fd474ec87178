"""Database tables (SQLAlchemy Core). Domain types live elsewhere; these are storage only."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, MetaData, String, Table

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_keys_account", "account_id"),
)
