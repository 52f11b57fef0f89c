"""The environment every audit service function runs in, passed as one object.

An :class:`AuditEnv` carries the database engine, the chain client and the deployed
contracts, the data directory and the auditor key. The composition root (``fairgov run``,
the API factory, the CLI) builds it once from settings; the audit package never reads
settings itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from web3 import Web3

from audit.errors import AuditorKeyMissing
from governance.chain.deploy import Deployment


@dataclass(frozen=True)
class AuditEnv:
    """What audit runs, re-audits, retention and the run queries need.

    Parameters
    ----------
    engine : Engine
        The migrated database.
    w3 : Web3
        A client of the node the contracts are deployed on.
    deployment : Deployment
        The governance contracts (``TrainingPolicy``, ``AuditRegistry``, ...).
    data_dir : Path
        Models go to ``models/<name>/``, reports to ``reports/<run_id>/``.
    auditor_key : str or None
        The private key holding ``AUDITOR_ROLE`` on the AuditRegistry; without it nothing
        can be anchored, so runs refuse to start (:class:`~audit.errors.AuditorKeyMissing`).
    estimator_modules : tuple of str
        The operator's allow-list of modules whose scikit-learn classifiers a spec may name as
        ``module:Class`` (``FAIRGOV_ESTIMATOR_MODULES``); model files may hold types under
        them. Empty: only the built-in estimators.
    onnx_max_memory : int
        The cap in bytes on onnxruntime's arena while external (ONNX) models are scored
        (``FAIRGOV_ONNX_MAX_MEMORY``, at least 1 MiB); each audit scores in its own child
        process, whose address space may grow by twice this plus 256 MiB
        (:func:`audit.external.address_budget`). Default 4 GiB
        (:data:`audit.external.MAX_SCORING_MEMORY`).
    onnx_max_seconds : float
        The wall-clock limit on scoring one dataset (``FAIRGOV_ONNX_MAX_SECONDS``); the
        scoring process is killed after it. Default 600
        (:data:`audit.external.MAX_SCORING_SECONDS`).

    Examples
    --------
    >>> env = AuditEnv(engine=engine, w3=w3, deployment=deployment,
    ...                data_dir=Path("data"), auditor_key=key)  # doctest: +SKIP
    >>> run_audit(env, spec).verdict  # doctest: +SKIP
    'PASS'
    """

    engine: Engine
    w3: Web3
    deployment: Deployment
    data_dir: Path
    auditor_key: str | None = None
    estimator_modules: tuple[str, ...] = ()
    onnx_max_memory: int = 4 * 1024**3
    onnx_max_seconds: float = 600.0

    @property
    def reports_dir(self) -> Path:
        """Where each run's report directory (``<run_id>/``) lives."""
        return self.data_dir / "reports"

    @property
    def models_dir(self) -> Path:
        """Where each model's skops files (``<name>/<hash>.skops``) live."""
        return self.data_dir / "models"

    def require_auditor_key(self) -> str:
        """The auditor key, or :class:`~audit.errors.AuditorKeyMissing`."""
        if self.auditor_key is None:
            raise AuditorKeyMissing
        return self.auditor_key
