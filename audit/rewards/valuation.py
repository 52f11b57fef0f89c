"""Leave-one-provider-out data valuation: what each provider's data adds to the model.

``u(S) = accuracy - lam * |demographic parity difference|`` of the model trained on the rows
of the providers in S, with the run's spec and voted mitigation, evaluated on one held-out
test split of all the rows (the spec's seed and test size), the same for every S. A set whose
training rows hold one label (or none) gives a constant model predicting that label (the
negative label when empty). ``value_i = max(0, u(all) - u(all without i))``.

Why leave-one-out and not a Shapley value: it needs one model per provider (n + 1 fits)
where exact Shapley needs 2^n and Monte Carlo estimates need hundreds. It is not a Shapley
value nor an approximation of one: it is winner-take-all on test-split noise (exchangeable
providers can split 100/0), near-duplicate data all get little, and a verbatim copy of a
provider's rows can out-earn the original (docs/rewards.md). pyDVL 0.10 implements both, but
requires numpy < 2 (we run numpy 2), cvxpy and matplotlib, so the few lines here implement LOO
on our own training code; its utility is the same "score a model trained on a subset"
contract, so switching is local.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from fairlearn.metrics import demographic_parity_difference
from sklearn.metrics import accuracy_score

from audit.manifest import DatasetManifest
from audit.spec import ModelSpec
from audit.training import Split, group_keys, predict, split, train
from core.types import to_address
from governance.rewards import LeaveOneOut, ProviderUtility, UtilityDefinition

#: The fairness term of the utility and its weight: one point of demographic parity
#: difference costs as much as one point of accuracy.
FAIRNESS_METRIC: Final = "demographic_parity_difference"
DEFAULT_LAMBDA: Final = 1.0
EVALUATION: Final = (
    "the held-out test split of all contributed rows (the spec's seed and test_size, "
    "stratified on the label), the same for every subset"
)
_PROVIDER_COLUMN: Final = "__fairgov_provider__"


@dataclass(frozen=True)
class Mitigation:
    """The voted mitigation the run trained with."""

    strategy: str = "none"
    constraint: str = ""


def utility(y_true: Any, y_pred: Any, sensitive: pd.DataFrame, *, lam: float) -> float:
    """``accuracy - lam * |demographic parity difference|`` of predictions.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"sex": ["F", "F", "M", "M"]})
    >>> utility([1, 0, 1, 0], [1, 0, 1, 1], a, lam=1.0)
    0.25
    """
    accuracy = float(accuracy_score(y_true, y_pred))
    gap = float(
        demographic_parity_difference(y_true, y_pred, sensitive_features=group_keys(sensitive))
    )
    return accuracy - lam * abs(gap)


def _subset_utility(
    spec: ModelSpec,
    data: Split,
    keep: Any,
    mitigation: Mitigation,
    *,
    lam: float,
    estimator_modules: Collection[str],
) -> float:
    y_train = data.y_train[keep]
    labels = np.unique(y_train)
    if len(labels) < 2:
        constant = int(labels[0]) if len(labels) else 0
        y_pred = np.full(len(data.y_test), constant, dtype=np.int64)
    else:
        subset = Split(
            data.x_train[keep], data.x_test, y_train, data.y_test, data.a_train[keep], data.a_test
        )
        model = train(
            spec,
            subset,
            strategy=mitigation.strategy,
            constraint=mitigation.constraint,
            estimator_modules=estimator_modules,
        )
        y_pred = predict(model, data.x_test, data.a_test, random_state=spec.seed)
    return utility(data.y_test, y_pred, data.a_test, lam=lam)


def leave_one_out(
    spec: ModelSpec,
    manifest: DatasetManifest,
    frames: Mapping[str, pd.DataFrame],
    *,
    mitigation: Mitigation = Mitigation(),
    lam: float = DEFAULT_LAMBDA,
    estimator_modules: Collection[str] = (),
) -> LeaveOneOut:
    """The utilities of the reward statement's leave-one-out rule.

    Parameters
    ----------
    spec, manifest
        The run's spec and a manifest of the shared schema (label, sensitive features).
    frames
        Each provider's rows (all their datasets that trained the model), by address.
    mitigation
        The voted mitigation the run trained with.
    lam
        The weight of the fairness term.
    estimator_modules
        The operator's allow-list, for a spec naming its estimator ``module:Class``.

    Examples
    --------
    >>> loo = leave_one_out(spec, manifest, {alice: frame_a, bob: frame_b})  # doctest: +SKIP
    >>> loo.utility_all  # doctest: +SKIP
    0.81
    """
    tagged = [frame.assign(**{_PROVIDER_COLUMN: p.lower()}) for p, frame in frames.items()]
    whole = pd.concat(tagged, ignore_index=True)
    data = split(whole, manifest, spec)
    owners = whole.loc[data.x_train.index, _PROVIDER_COLUMN].to_numpy()
    everyone = np.ones(len(owners), dtype=bool)
    without = tuple(
        ProviderUtility(
            provider=to_address(provider),
            utility_without=_subset_utility(
                spec,
                data,
                owners != provider.lower(),
                mitigation,
                lam=lam,
                estimator_modules=estimator_modules,
            ),
        )
        for provider in sorted(frames, key=str.lower)
    )
    return LeaveOneOut(
        definition=UtilityDefinition(
            fairness_metric=FAIRNESS_METRIC, lam=lam, evaluation=EVALUATION, seed=spec.seed
        ),
        utility_all=_subset_utility(
            spec, data, everyone, mitigation, lam=lam, estimator_modules=estimator_modules
        ),
        without=without,
    )
