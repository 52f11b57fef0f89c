"""Errors of estimators named by import path (``module:Class``) in a model spec."""

from __future__ import annotations

from typing import ClassVar

from audit.errors._base import AuditError
from core.errors import ErrorCategory

#: The setting an operator changes to allow an estimator's module.
ESTIMATOR_MODULES_SETTING = "FAIRGOV_ESTIMATOR_MODULES"


class EstimatorNotAllowed(AuditError):
    """A spec names an estimator whose module is not in the operator's allow-list."""

    code: ClassVar[str] = "estimator_not_allowed"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, estimator: str, module: str) -> None:
        super().__init__(
            f"estimator {estimator} is not allowed here: the operator must add {module} to "
            f"{ESTIMATOR_MODULES_SETTING} (comma-separated modules), or use "
            "logistic_regression or hist_gradient_boosting",
            estimator=estimator,
            module=module,
        )


class EstimatorNotFound(AuditError):
    """An allowed module does not import, or does not define the named class."""

    code: ClassVar[str] = "estimator_not_found"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, estimator: str, reason: str) -> None:
        super().__init__(
            f"estimator {estimator} cannot be loaded ({reason}): check the module:Class path",
            estimator=estimator,
            reason=reason,
        )


class EstimatorNotClassifier(AuditError):
    """The named class is not a scikit-learn classifier with ``predict_proba``."""

    code: ClassVar[str] = "estimator_not_classifier"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, estimator: str) -> None:
        super().__init__(
            f"estimator {estimator} is not a scikit-learn classifier with predict_proba: "
            "name a ClassifierMixin subclass (fairgov audits binary classifiers)",
            estimator=estimator,
        )


class ModelTypesNotAllowed(AuditError):
    """A trained model holds types outside the trusted list and the allow-listed modules, so
    it could not be loaded again: it is refused before it is anchored."""

    code: ClassVar[str] = "model_types_not_allowed"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFIGURATION

    def __init__(self, types: list[str], modules: list[str]) -> None:
        super().__init__(
            f"the trained model holds types {', '.join(types)} that model files may not hold: "
            f"add {', '.join(modules)} to {ESTIMATOR_MODULES_SETTING}, or use another estimator",
            types=types,
            modules=modules,
        )
