"""The worker's settings: one frozen object, read from ``ROUTER_*`` environment variables.

Every setting is listed in the README ("Settings"). Nothing else reads the environment: the
app factory gets this object, and Faust is given its own ``env_prefix`` so that stray variables
such as ``BROKER_URL`` cannot override what is here.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_BROKER = re.compile(r"^(kafka|aiokafka)://([^/\s;,]+:[0-9]{1,5})([;,][^/\s;,]+:[0-9]{1,5})*/?$")


class SettingsError(ValueError):
    """A setting is invalid; the message names the variable and the problem, never a secret."""


class Settings(BaseSettings):
    """Worker settings. Environment variable names are ``ROUTER_`` + the field name in capitals."""

    model_config = SettingsConfigDict(env_prefix="ROUTER_", frozen=True, extra="ignore", case_sensitive=False)

    # --- broker ---------------------------------------------------------------------------
    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap servers, kafka://host:port[;host:port]")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    # --- identity and state ------------------------------------------------------------------
    app_id: str = Field("report-router", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    data_dir: Path = Path("./var/router")
    store: Literal["memory", "rocksdb"] = "rocksdb"
    # RocksDB memory per partition database: write buffers (memtables) and block cache. Faust's
    # defaults (3 x 64 MiB buffers and a 2 GiB cache for every partition) let a worker grow
    # without bound under a long run; these keep it under ~(2 x buffer + cache) x partitions held.
    rocksdb_write_buffer_mb: int = Field(1, ge=1, le=1024)
    rocksdb_block_cache_mb: int = Field(2, ge=1, le=65536)
    partitions: int = Field(8, ge=1, le=1024)
    replication: int = Field(1, ge=1, le=10)

    # --- data files ----------------------------------------------------------------------------
    sla_policy: Path | None = None
    watchlist: Path | None = None
    platforms: Path | None = None

    # --- topics ------------------------------------------------------------------------------
    topic_submitted: str = "reports.submitted"
    topic_receipts: str = "reports.receipts"
    topic_deadletter: str = "reports.deadletter"
    topic_outbound_prefix: str = "outbound."
    topic_review: str = "outbound.review"
    topic_responses: str = "platform.responses"
    topic_breaches: str = "sla.breaches"
    topic_metrics: str = "metrics.router"
    topic_cases: str = "router.cases"
    create_topics: bool = True

    # --- behaviour ---------------------------------------------------------------------------
    max_record_bytes: int = Field(262_144, ge=1024, le=16 * 1024 * 1024)
    sla_tick_s: float = Field(1.0, gt=0, le=60)
    metrics_interval_s: float = Field(10.0, gt=0, le=3600)
    case_retention_s: float = Field(30 * 86400, gt=0)
    batch_max: int = Field(1000, ge=1, le=100_000)
    # helper processes that decode, validate and enrich reports beside the worker (router.pool):
    # "auto" is one per CPU available beyond the worker's own (at most 4); 0 does it all in the worker
    intake_processes: Literal["auto"] | int = "auto"
    # batches a lane may have taken and not yet had acknowledged by the broker (each holds its
    # records and their output in memory)
    batches_in_flight: int = Field(2, ge=1, le=64)
    linger_ms: int = Field(0, ge=0, le=1000)
    fetch_wait_ms: int = Field(100, ge=1, le=5000)
    # most bytes one fetch brings in over all partitions: a bound on fetched records not yet
    # processed. aiokafka's default is 50 MB and Faust does not expose it; the 1 MiB per partition
    # is not honoured by every broker (the embedded one answers with about 5 MB of one partition)
    fetch_max_mb: int = Field(2, ge=1, le=1024)
    fix_end_offsets: Literal["auto", "on", "off"] = "auto"
    # the worker's event loops (its own and Faust's consumer thread's): uvloop spends about 8 %
    # fewer instructions a report on the sockets, the helper's pipes and the loop itself
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    # --- web and logs --------------------------------------------------------------------------
    web_host: str = "0.0.0.0"
    web_port: int = Field(6066, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_records: bool = True
    log_hmac_key: SecretStr | None = None

    # --- consumer group timing -------------------------------------------------------------------
    static_membership: bool = False
    session_timeout_s: float = Field(10.0, gt=0)
    heartbeat_interval_s: float = Field(1.0, gt=0)
    rebalance_timeout_s: float = Field(10.0, gt=0)
    # after SIGTERM, the longest a graceful stop may take (Faust waits a minute on a broker that is
    # gone); then the process exits: safe, offsets are committed only for published records
    shutdown_timeout_s: float = Field(30.0, gt=0)

    @field_validator("broker")
    @classmethod
    def _broker(cls, value: str) -> str:
        if not _BROKER.match(value.strip()):
            raise ValueError("must look like kafka://host:port or kafka://host1:port;host2:port")
        return value.strip()

    @field_validator("topic_submitted", "topic_receipts", "topic_deadletter", "topic_review", "topic_responses",
                     "topic_breaches", "topic_metrics", "topic_cases")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", value):
            raise ValueError("topic names use letters, digits, '.', '_' and '-'")
        return value

    @field_validator("intake_processes")
    @classmethod
    def _helpers(cls, value: int | str) -> int | str:
        if value != "auto" and not 0 <= int(value) <= 32:
            raise ValueError("must be auto or a number of processes from 0 to 32")
        return value

    @model_validator(mode="after")
    def _sasl(self) -> Settings:
        if self.security_protocol.startswith("SASL") and not self.sasl_username:
            raise ValueError("SASL needs ROUTER_SASL_USERNAME and a password (or password file)")
        if self.sasl_password is not None and self.sasl_password_file is not None:
            raise ValueError("give ROUTER_SASL_PASSWORD or ROUTER_SASL_PASSWORD_FILE, not both")
        return self

    # --- derived ---------------------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> list[str]:
        hosts = self.broker.split("://", 1)[1].rstrip("/")
        return [h for h in re.split(r"[;,]", hosts) if h]

    def outbound_topic(self, platform: str) -> str:
        return self.topic_review if platform == "unknown" else f"{self.topic_outbound_prefix}{platform}"

    def sasl_secret(self) -> str | None:
        """The SASL password, read from the file when one is given (secrets stay out of the env)."""
        if self.sasl_password_file is not None:
            return self.sasl_password_file.read_text().strip()
        return self.sasl_password.get_secret_value() if self.sasl_password else None


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise SettingsError with one line per invalid variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "ROUTER_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else "settings"
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("; ".join(lines)) from None
