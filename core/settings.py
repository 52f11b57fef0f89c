"""Runtime settings, read from ``FAIRGOV_*`` environment variables.

Domain code never reads settings itself: the adapters (CLI, API, scheduler) read them once
and pass plain values in.
"""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.devchain import DEV_MNEMONIC, DEV_PRIVATE_KEYS, LOCAL_CHAIN_IDS
from core.errors import ConfigurationError

#: The default cap on onnxruntime's memory arena while ONNX models are scored (4 GiB).
ONNX_MAX_MEMORY_DEFAULT = 4 * 1024**3
#: The smallest cap accepted (1 MiB).
ONNX_MAX_MEMORY_MINIMUM = 1024**2
#: The default wall-clock limit on scoring one dataset with an ONNX model (seconds).
ONNX_MAX_SECONDS_DEFAULT = 600.0

# The development accounts are re-exported: adapters and tests read them with the settings.
__all__ = [
    "DEV_MNEMONIC",
    "DEV_PRIVATE_KEYS",
    "LOCAL_CHAIN_IDS",
    "ONNX_MAX_MEMORY_DEFAULT",
    "ONNX_MAX_MEMORY_MINIMUM",
    "ONNX_MAX_SECONDS_DEFAULT",
    "Settings",
    "default_data_dir",
    "setting_problem",
]


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/fairgov``, or ``~/.local/share/fairgov``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fairgov"


class Settings(BaseSettings):
    """Everything an operator can configure. Each field reads ``FAIRGOV_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FAIRGOV_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where all state lives: chain state, deployment, database, reports.",
    )
    rpc_url: str | None = Field(
        default=None,
        description="JSON-RPC URL of the chain. Unset: fairgov starts its own local anvil.",
    )
    chain_id: int = Field(default=31337, description="Chain id of the local anvil chain.")
    anvil_path: Path | None = Field(
        default=None, description="The anvil binary. Unset: the npm package's, then PATH."
    )
    anvil_port: int = Field(default=8545, ge=0, le=65535, description="0 picks a free port.")
    anvil_block_time: float | None = Field(
        default=1.0,
        gt=0,
        description="Seconds per block on the local chain while a proposal waits for blocks "
        "(voting, timelock); it mines one block per transaction otherwise. Unset: never timed.",
    )
    deployer_key: SecretStr | None = Field(
        default=None,
        description="Private key that deploys the contracts. Unset: a development key, "
        "accepted only on a local chain.",
    )
    relayer_key: SecretStr | None = Field(
        default=None,
        description="Private key that relays ballots and delegations (pays their gas). Unset: "
        "a development key, accepted only on a local chain.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database. Unset: SQLite in the data directory.",
    )
    confirmations: int = Field(
        default=0, ge=0, description="Blocks the indexer stays behind the head (reorg safety)."
    )
    finality_depth: int = Field(
        default=12,
        ge=0,
        description="Blocks below the head at which a relayed transaction is final; until "
        "then the relayer checks it again (reorgs, a chain restored from an older save).",
    )
    deploy_config: Path | None = Field(
        default=None, description="JSON file with the deployment parameters (holders, voting)."
    )
    auditor_key: SecretStr | None = Field(
        default=None,
        description="Private key holding AUDITOR_ROLE that anchors audit reports. Unset: a "
        "development key, accepted only on a local chain.",
    )
    api_domain: str | None = Field(
        default=None,
        description="The domain Sign-In with Ethereum messages must name (host[:port]), never "
        "taken from a request. Unset: on a local chain the address the API listens on; on any "
        "other chain the API refuses to start.",
    )
    api_uri: str | None = Field(
        default=None,
        description="The URI Sign-In with Ethereum messages must name (the message's URI must "
        "be it or below it). Unset: https://<FAIRGOV_API_DOMAIN>, or on a local chain without "
        "a domain http://<the address the API listens on>.",
    )
    auditors: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses that may download full audit reports, besides "
        "the AuditRegistry's AUDITOR_ROLE holders.",
    )
    operators: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses that may register datasets and start audits.",
    )
    estimator_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Python modules (or packages) whose scikit-learn "
        "classifiers a model spec may name as module:Class, e.g. "
        "sklearn.ensemble,sklearn.tree; model files may then hold types under them. "
        "Empty (the default): only logistic_regression and hist_gradient_boosting.",
    )
    onnx_max_memory: int = Field(
        default=ONNX_MAX_MEMORY_DEFAULT,
        description="Cap in bytes on onnxruntime's memory arena while an external (ONNX) "
        "model is scored, per process (at least 1048576); a graph asking for more fails "
        "with onnx_memory_limit_exceeded. Each audit scores in a child process whose "
        "address space may grow by twice this plus 256 MiB (onnx_scoring_out_of_memory "
        "beyond). Default 4 GiB.",
    )
    onnx_max_seconds: float = Field(
        default=ONNX_MAX_SECONDS_DEFAULT,
        description="Wall-clock limit in seconds on scoring one dataset with an external "
        "(ONNX) model; the scoring process is killed after it and the run fails with "
        "onnx_scoring_timeout. Default 600.",
    )
    api_session_ttl: int = Field(default=3600, ge=60, description="API session lifetime, s.")
    api_nonce_ttl: int = Field(default=600, ge=10, description="SIWE nonce lifetime, seconds.")
    api_max_body_bytes: int = Field(default=65536, ge=1024, description="Largest request body.")
    api_max_upload_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest uploaded file (a predictions file or an ONNX model), bytes.",
    )
    api_max_concurrent_audits: int = Field(
        default=2,
        ge=1,
        description="Uploaded predictions files audited at once per API process; more "
        "get 503 audits_busy with Retry-After.",
    )
    api_ip_rate: float = Field(default=100.0, gt=0, description="Requests/s per client IP.")
    api_ip_burst: int = Field(default=200, ge=1, description="Burst of requests per client IP.")
    api_voter_rate: float = Field(
        default=1.0, gt=0, description="Vote and delegation posts/s per voter address."
    )
    api_voter_burst: int = Field(default=10, ge=1, description="Burst of posts per voter.")

    api_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    api_port: int = Field(default=8000, ge=0, le=65535, description="0 picks a free port.")
    scheduler_enabled: bool = Field(
        default=True, description="Run the scheduled jobs (one active process, by lease)."
    )
    sync_interval_seconds: float = Field(
        default=5.0, gt=0, description="Seconds between chain syncs, relay and keeper passes."
    )
    audit_cron: str = Field(
        default="0 3 * * *", description="Crontab (UTC) of the scheduled audit of all models."
    )
    lease_seconds: float = Field(
        default=30.0, gt=0, description="Scheduler lease; a standby takes over after it expires."
    )
    report_retention_days: int = Field(
        default=90, ge=1, description="Days to keep reports that are not anchored or approved."
    )
    keeper_enabled: bool = Field(
        default=True, description="Queue and execute passed proposals automatically."
    )

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("auditors", "operators", "estimator_modules", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("onnx_max_memory", mode="before")
    @classmethod
    def _memory_in_bytes(cls, value: object) -> object:
        # A ConfigurationError, not a ValueError: one line with the variable and what to give.
        text = str(value).strip()
        if not text:
            return ONNX_MAX_MEMORY_DEFAULT
        try:
            limit = int(text)
        except ValueError:
            limit = 0
        if limit < ONNX_MAX_MEMORY_MINIMUM:
            raise ConfigurationError(
                f"FAIRGOV_ONNX_MAX_MEMORY={text!r}: give the scoring memory limit in bytes, "
                f"at least {ONNX_MAX_MEMORY_MINIMUM:,}"
            )
        return limit

    @field_validator("onnx_max_seconds", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        text = str(value).strip()
        if not text:
            return ONNX_MAX_SECONDS_DEFAULT
        try:
            seconds = float(text)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < float("inf"):
            raise ConfigurationError(
                f"FAIRGOV_ONNX_MAX_SECONDS={text!r}: give the scoring time limit in seconds, "
                "a number above 0"
            )
        return seconds

    @model_validator(mode="after")
    def _no_development_key_on_a_real_chain(self) -> Settings:
        keys = {
            "FAIRGOV_DEPLOYER_KEY": self.deployer_key,
            "FAIRGOV_RELAYER_KEY": self.relayer_key,
            "FAIRGOV_AUDITOR_KEY": self.auditor_key,
        }
        for variable, key in keys.items():
            if key is None or self.local:
                continue
            if key.get_secret_value().lower() in DEV_PRIVATE_KEYS:
                raise ConfigurationError(
                    f"{variable} is a public development key: use it only on a local chain "
                    "(FAIRGOV_RPC_URL on localhost)."
                )
        return self

    @property
    def local(self) -> bool:
        """Whether the chain is one fairgov runs itself, or one on this machine."""
        if self.rpc_url is None:
            return True
        host = self.rpc_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        return host in {"127.0.0.1", "localhost", "[::1]"}

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def database(self) -> str:
        """The database URL: FAIRGOV_DATABASE_URL, or SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'fairgov.db'}"

    @property
    def run_file(self) -> Path:
        """Where a running ``fairgov run`` records its RPC and API URLs for other commands."""
        return self.data_dir / "run.json"

    @property
    def deployment_file(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def chain_rpc_url(self) -> str:
        """FAIRGOV_RPC_URL, or the local chain that ``fairgov run`` starts."""
        return self.rpc_url or f"http://127.0.0.1:{self.anvil_port}"

    def deployer_private_key(self, chain_id: int) -> str:
        """The deployer key for ``chain_id``; a development key only on a local chain."""
        return _key_for("FAIRGOV_DEPLOYER_KEY", self.deployer_key, 0, chain_id)

    def relayer_private_key(self, chain_id: int) -> str:
        """The relayer key for ``chain_id``; a development key only on a local chain."""
        return _key_for("FAIRGOV_RELAYER_KEY", self.relayer_key, 8, chain_id)

    def auditor_private_key(self, chain_id: int) -> str:
        """The auditor key for ``chain_id``; a development key only on a local chain."""
        return _key_for("FAIRGOV_AUDITOR_KEY", self.auditor_key, 9, chain_id)


def _key_for(variable: str, configured: SecretStr | None, dev_index: int, chain_id: int) -> str:
    if configured is not None:
        key = configured.get_secret_value()
        if key.lower() in DEV_PRIVATE_KEYS and chain_id not in LOCAL_CHAIN_IDS:
            raise ConfigurationError(
                f"{variable} is a public development key and chain {chain_id} is not a local "
                "chain: set a key of your own."
            )
        return key
    if chain_id in LOCAL_CHAIN_IDS:
        return DEV_PRIVATE_KEYS[dev_index]
    raise ConfigurationError(f"chain {chain_id} is not a local chain: set {variable} to a key.")


def setting_problem(exc: ValidationError) -> str:
    """The first setting ``exc`` refuses, as one line: the variable, its value, what is wrong
    with it and what to give instead (review, session 26: ``FAIRGOV_API_PORT: Input should be
    a valid integer`` said nothing of what to do).

    Examples
    --------
    >>> try:
    ...     Settings(api_port="abc")
    ... except ValidationError as exc:
    ...     print(setting_problem(exc))  # doctest: +NORMALIZE_WHITESPACE
    FAIRGOV_API_PORT='abc': Input should be a valid integer, unable to parse string as an
    integer: set FAIRGOV_API_PORT to a whole number from 0 to 65535 (0 picks a free port), or
    unset it for the default, 8000
    """
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    if name not in Settings.model_fields:
        return f"invalid settings: {first['msg']}"
    variable = f"FAIRGOV_{name.upper()}"
    given = first.get("input")
    shown = (
        f"={given!r}" if isinstance(given, str) and len(given) <= 60 and not _secret(name) else ""
    )
    return f"{variable}{shown}: {first['msg']}: {setting_hint(name)}"


def setting_hint(name: str) -> str:
    """What to set the setting ``name`` to, from its type, limits, description and default.

    Examples
    --------
    >>> setting_hint("scheduler_enabled")
    'set FAIRGOV_SCHEDULER_ENABLED to true or false, or unset it for the default, true'
    """
    field = Settings.model_fields[name]
    described = (field.description or "").split(". ")[0].rstrip(".")
    note = f" ({described})" if _short(described) and not _secret(name) else ""
    if field.default is None or field.default is PydanticUndefined:
        unset = "or unset it"
    else:
        default = str(field.default).lower() if isinstance(field.default, bool) else field.default
        unset = f"or unset it for the default, {default}"
    kind = _kind(name, field.annotation) + _limits(field.metadata)
    return f"set FAIRGOV_{name.upper()} to {kind}{note}, {unset}"


def _kind(name: str, annotation: Any) -> str:
    if get_origin(annotation) in (Union, types.UnionType):  # X | None: an unset X
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is list:
        return "comma-separated values"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number"
    if annotation is float:
        return "a number"
    if annotation is Path:
        return "a path"
    if annotation is SecretStr:
        return "a private key (0x and 64 hex digits)"
    if name.endswith(("_url", "_uri")):
        return "a URL"
    return "text"


def _limits(metadata: list[Any]) -> str:
    low = next(
        (m for m in metadata if isinstance(m, annotated_types.Ge | annotated_types.Gt)), None
    )
    high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    if isinstance(low, annotated_types.Ge):
        return f" of at least {low.ge}" if high is None else f" from {low.ge} to {high}"
    if isinstance(low, annotated_types.Gt):
        return f" above {low.gt}"
    return "" if high is None else f" up to {high}"


def _short(description: str) -> bool:
    """Whether a description's first sentence is short and plain enough for the one line."""
    return 0 < len(description) <= 50 and "(" not in description


def _secret(name: str) -> bool:
    return Settings.model_fields[name].annotation in (SecretStr, SecretStr | None)
