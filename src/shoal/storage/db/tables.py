"""Database tables (SQLAlchemy Core). Domain types live elsewhere; these are storage only.

Money is stored as integer nanocredits (1 credit = 10⁹): exact on every database
(SQLite has no exact decimal type) and fine enough for a price per UTF-8 byte.
The schema is changed only through the Alembic migrations beside this module.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("prepaid", Boolean, nullable=False, server_default="0"),
    Column("balance_nanos", BigInteger, nullable=False, server_default="0"),
    Column("topped_up_nanos", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True)),
    CheckConstraint("balance_nanos >= 0", name="ck_accounts_balance_not_negative"),
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
    Column("tier", String(16), nullable=False, server_default="standard"),
    Column("plan", String(64), nullable=False, server_default="pro"),
    Column("requests_per_minute", Integer),
    Column("concurrent_requests", Integer),
    Column("models", Text, nullable=False, server_default=""),
    Column("expires_at", DateTime(timezone=True)),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("discount_bp", Integer, nullable=False, server_default="0"),
    Column("monthly_cap_nanos", BigInteger),
    Index("ix_api_keys_account", "account_id"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_nanos", BigInteger, nullable=False),
    Column("balance_after_nanos", BigInteger, nullable=False),
    Column("reference", String(64), nullable=False),
    Column("key_id", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_ledger_account", "account_id", "id"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("month", String(7), nullable=False),
    Column("amount_nanos", BigInteger, nullable=False),
    Column("charged_balance", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_holds_expires", "expires_at"),
)

key_spend = Table(
    "key_spend",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("spent_nanos", BigInteger, nullable=False, server_default="0"),
)

topups = Table(
    "topups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("idempotency_key", String(255)),
    Column("amount_nanos", BigInteger, nullable=False),
    Column("balance_after_nanos", BigInteger, nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account_id", "idempotency_key", name="uq_topups_idempotency"),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("account_id", String(32), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("model", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("units", Float, nullable=False),
    Column("unit_price", Float, nullable=False),
    Column("discount_bp", Integer, nullable=False),
    Column("cost_nanos", BigInteger, nullable=False),
    Column("balance_after_nanos", BigInteger),
    Column("outcome", String(16), nullable=False),
    Index("ix_usage_key_time", "key_id", "created_at"),
    Index("ix_usage_account_time", "account_id", "created_at"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(32)),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_blobs_expires", "expires_at"),
)

server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
