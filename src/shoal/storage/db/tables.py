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

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    # tts | stt
    Column("surface", String(16), nullable=False),
    # Where it was submitted: fish (/v1/tts), proxy (/v1/fish/tts) or run (/v1/run).
    Column("model", String(200), nullable=False),
    Column("request", LargeBinary, nullable=False),
    # The work to do, as msgpack (a Fish body keeps its reference audio).
    Column("status", String(16), nullable=False),
    # queued | running | succeeded | failed
    Column("idempotency_key", String(255)),
    Column("fingerprint", String(64)),
    Column("callback_url", Text),
    Column("hold_id", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("run_attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("result", Text),
    # JSON: audio blob, format, duration, usage and cost (or the transcript).
    Column("error", Text),
    Column("delivery_status", String(16)),
    # None without a callback; pending | delivered | failed | disabled.
    Column("delivery_attempts", Integer, nullable=False, server_default="0"),
    Column("next_delivery_at", DateTime(timezone=True)),
    Column("delivery_lease_expires_at", DateTime(timezone=True)),
    UniqueConstraint("account_id", "idempotency_key", name="uq_tasks_idempotency"),
    Index("ix_tasks_queue", "status", "created_at"),
    Index("ix_tasks_account_time", "account_id", "created_at"),
    Index("ix_tasks_delivery", "delivery_status", "next_delivery_at"),
)

task_deliveries = Table(
    "task_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("task_id", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float),
    Column("outcome", String(16), nullable=False),
    # delivered | retry | gone (410: endpoint disabled) | disabled (an earlier 410) | blocked (SSRF) | failed
    Index("ix_task_deliveries_task", "task_id", "id"),
)

webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128)),
    # Still signed with (beside the new one) until ``previous_expires_at``, so receivers can rotate.
    Column("previous_expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

disabled_callbacks = Table(
    "disabled_callbacks",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("url_hash", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
)

voice_models = Table(
    "voice_models",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), nullable=False),
    # The owner; not a foreign key, so an account's removal never blocks on its voices.
    Column("type", String(8), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("visibility", String(8), nullable=False),
    # public | unlist | private
    Column("train_mode", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    # created | training | trained | failed
    Column("state_reason", Text),
    Column("tags", Text, nullable=False),
    Column("languages", Text, nullable=False),
    # JSON lists, in the order given; voice_model_labels holds the same for filtering.
    Column("clips", Text, nullable=False),
    # JSON: per reference clip its blob (id, content type, size, expiry), seconds and transcript.
    Column("cover", Text),
    # JSON: the cover image's blob, or null.
    Column("profile", Text),
    # The computed VoiceProfile as JSON, once analysed.
    Column("enhance_audio_quality", Boolean, nullable=False, server_default="1"),
    Column("task_count", BigInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_voice_models_account", "account_id", "created_at"),
    Index("ix_voice_models_listing", "visibility", "task_count"),
)

voice_model_labels = Table(
    "voice_model_labels",
    metadata,
    Column("model_id", String(32), ForeignKey("voice_models.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    # tag | language
    Column("value", String(100), primary_key=True),
    Index("ix_voice_model_labels_value", "kind", "value"),
)
