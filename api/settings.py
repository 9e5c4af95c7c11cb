"""Server settings, read from ``CHAINLEDGER_*`` environment variables (pydantic-settings).

`create_app` takes a `Settings` object; nothing is read at import time, so tests
build as many differently configured apps as they like.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINLEDGER_", extra="ignore")

    db: str = Field(
        "var/ledger.db",
        description="The ledger's database: a SQLite file, or postgresql://user@host:port/dbname.",
    )
    keys: Path | None = Field(
        None, description="PostgreSQL ledgers: the directory of the platform key and secrets."
    )
    replica: str | None = Field(
        None,
        description="PostgreSQL ledgers: the URL of a read replica (a hot standby) that serves "
        "proofs, entries and audit queries once it has caught up with what they need.",
    )
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    rate_per_second: float = Field(
        200.0, gt=0, description="Sustained requests per second allowed to one party (429 above)."
    )
    rate_burst: int = Field(400, ge=1, description="Requests one party may send in a burst.")
    public_rate_per_second: float = Field(
        500.0, gt=0, description="Sustained unauthenticated requests per second per client address."
    )
    public_rate_burst: int = Field(1000, ge=1)
    skew_seconds: int = Field(
        300, ge=1, description="Accepted distance of a statement's or signature's time from ours."
    )
    signature_max_age_seconds: int = Field(
        300, ge=1, description="Oldest RFC 9421 `created` accepted for a private read."
    )
    max_queue: int = Field(
        20_000, ge=1, description="Statements waiting in the sequencer before 503 responses."
    )
    verify_processes: int = Field(
        0,
        ge=0,
        description="Signature-checking worker processes beside the sequencer, for large "
        "batches; 0: its checker thread checks every batch itself (an Ed25519 check lets go "
        "of the interpreter lock, so the writer commits meanwhile; docs/profile.md "
        "section 10).",
    )
    sequencer_process: bool = Field(
        True,
        description="Run the sequencer (the single writer) in a child process of its own, "
        "so that this process's interpreter lock serves requests only (docs/profile.md "
        "section 9). Not with a fixed test clock, which cannot cross processes.",
    )
    cpu_split: bool = Field(
        True,
        description="With the sequencer in a child process and one server process: keep "
        "this process on the lower half of the CPUs it may use and the sequencer on the "
        "upper half, so that neither is moved between CPUs as they wake each other (Linux, "
        "two CPUs or more; docs/profile.md section 12).",
    )
    workers: int = Field(
        1,
        ge=1,
        description="Server processes on this ledger (set by `chainledger serve --workers`); "
        "the CPU split is for one: several would all take the same halves.",
    )
    page_limit: int = Field(1000, ge=1, description="Most rows one history or audit page returns.")
    access_log: bool = Field(True, description="Write one structured access-log line per request.")
    hello_endpoint: bool = Field(
        False, description="Mount GET /bench/hello (the benchmarks' baseline: same app, no work)."
    )

    @field_validator("db", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value
