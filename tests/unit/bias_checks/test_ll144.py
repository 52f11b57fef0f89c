"""NYC Local Law 144 impact ratios against the DCWP rule's worked example and definitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_checks import (
    FOUR_FIFTHS,
    BiasChecksInputError,
    ImpactTable,
    LL144InputError,
    group_counts,
    impact_ratio_table,
    preset_thresholds,
    scoring_rate_table,
)

# 6 RCNY § 5-301, the "culture fit" scoring example of the DCWP final rule (Notice of Adoption,
# 2023; https://codelibrary.amlegal.com/codes/newyorkcity/latest/NYCrules/0-0-0-138530):
# category, applicants, published scoring rate (%), published impact ratio. The selected counts
# are the rate times the applicants (92 * 54.3 % = 50, ...). The rule prints 64.2 % for
# Hispanic or Latino, 18 of 28 (64.29 %): truncated, not rounded, so rates are compared to 0.1
# percentage point. The page's excerpt we could read ends after the Asian row, so the two
# remaining race categories are left out; the highest rate (Hispanic or Latino) is among the
# rows kept, so every published ratio is unchanged.
SEX = (("Male", 92, 54.3, 1.00), ("Female", 76, 44.7, 0.82))
RACE = (
    ("Hispanic or Latino", 28, 64.2, 1.00),
    ("White (Not Hispanic or Latino)", 40, 37.5, 0.58),
    ("Black or African American (Not Hispanic or Latino)", 32, 50.0, 0.78),
    ("Native Hawaiian or Pacific Islander (Not Hispanic or Latino)", 8, 62.5, 0.97),
    ("Asian (Not Hispanic or Latino)", 24, 41.7, 0.65),
)


def _rows(table: tuple[tuple[str, int, float, float], ...]) -> dict[str, Any]:
    """Applicant rows (1 = scored above the median) reproducing one published table."""
    values, selected = [], []
    for category, applicants, rate, _ in table:
        chosen = round(applicants * rate / 100)
        values += [category] * applicants
        selected += [1] * chosen + [0] * (applicants - chosen)
    return {"category": np.array(values), "selected": np.array(selected)}


@pytest.mark.parametrize(("feature", "published"), [("sex", SEX), ("race", RACE)])
def test_published_dcwp_example(feature: str, published: Any) -> None:
    rows = _rows(published)
    counts = group_counts(
        rows["selected"], rows["selected"], sensitive_features={feature: rows["category"]}
    )
    table = impact_ratio_table(counts, min_share=0.0, rate_kind="scoring")
    by_category = {dict(r.category)[feature]: r for r in table.rows}
    for category, applicants, rate, ratio in published:
        row = by_category[category]
        assert row.applicants == applicants
        assert 100 * row.rate == pytest.approx(rate, abs=0.1)
        assert row.impact_ratio is not None
        assert round(row.impact_ratio, 2) == ratio


def _table(n: dict[str, int], selected: dict[str, int], min_share: float = 0.02) -> ImpactTable:
    a = np.concatenate([[k] * v for k, v in n.items()])
    p = np.concatenate([[1] * selected[k] + [0] * (v - selected[k]) for k, v in n.items()])
    return impact_ratio_table(
        group_counts(p, p, sensitive_features={"race": a}), min_share=min_share
    )


def test_categories_under_two_percent_are_reported_but_excluded_from_ratios() -> None:
    # 10 of 1010 rows (0.99 %) selected at 100 %: with it the others' ratios would be halved.
    table = _table({"a": 500, "b": 500, "tiny": 10}, {"a": 250, "b": 200, "tiny": 10})
    rows = {dict(r.category)["race"]: r for r in table.rows}
    assert rows["tiny"].excluded
    assert rows["tiny"].impact_ratio is None
    assert (rows["tiny"].applicants, rows["tiny"].selected, rows["tiny"].rate) == (10, 10, 1.0)
    assert rows["a"].impact_ratio == 1.0
    assert rows["b"].impact_ratio == pytest.approx(0.8)
    assert table.lowest_ratio() == pytest.approx(0.8)
    kept = _table({"a": 500, "b": 500, "tiny": 10}, {"a": 250, "b": 200, "tiny": 10}, 0.0)
    assert {dict(r.category)["race"]: r.impact_ratio for r in kept.rows}["a"] == 0.5


def test_every_category_and_every_intersection() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    sex, race = rng.choice(["F", "M"], n), rng.choice(["x", "y", "z"], n)
    selected = (rng.random(n) < np.where(sex == "F", 0.3, 0.5)).astype(int)
    counts = group_counts(selected, selected, sensitive_features={"sex": sex, "race": race})
    table = impact_ratio_table(counts)
    groupings = [r.grouping for r in table.rows]
    assert groupings == [("sex",)] * 2 + [("race",)] * 3 + [("sex", "race")] * 6
    for row in table.rows:
        mask = np.ones(n, dtype=bool)
        for feature, value in row.category:
            mask &= (sex if feature == "sex" else race) == value
        assert row.applicants == mask.sum()
        assert row.selected == selected[mask].sum()
        assert row.rate == pytest.approx(selected[mask].mean(), abs=1e-15)
    for grouping in {r.grouping for r in table.rows}:
        ratios = [r.impact_ratio for r in table.rows if r.grouping == grouping]
        assert max(r for r in ratios if r is not None) == 1.0


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 60), min_size=2, max_size=5),
    seed=st.integers(0, 2**16),
    min_share=st.sampled_from([0.0, 0.02, 0.1]),
)
def test_ratios_follow_the_rule_definitions(sizes: list[int], seed: int, min_share: float) -> None:
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(len(sizes))]
    chosen = {k: int(rng.integers(0, n + 1)) for k, n in zip(names, sizes, strict=True)}
    table = _table(dict(zip(names, sizes, strict=True)), chosen, min_share)
    total = sum(sizes)
    included = [chosen[k] / n for k, n in zip(names, sizes, strict=True) if n >= min_share * total]
    top = max(included, default=0.0)
    for row in table.rows:
        name = dict(row.category)["race"]
        assert row.excluded == (row.applicants < min_share * total)
        if row.excluded or top == 0:
            assert row.impact_ratio is None
        else:
            assert row.impact_ratio == pytest.approx(chosen[name] / row.applicants / top)


def test_scoring_rate_is_the_share_above_the_sample_median() -> None:
    scores = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10.0])
    sex = np.array(list("FFFFFMMMMM"))  # median 5.5: F has none above it, M all
    table = scoring_rate_table(scores, sensitive_features={"sex": sex}, min_share=0)
    assert table.rate_kind == "scoring"
    assert [(dict(r.category)["sex"], r.rate, r.impact_ratio) for r in table.rows] == [
        ("F", 0.0, 0.0),
        ("M", 1.0, 1.0),
    ]
    with pytest.raises(LL144InputError):
        scoring_rate_table([1.0, float("nan")], sensitive_features={"sex": ["F", "M"]})


def test_multiclass_counts_are_refused_with_one_line() -> None:
    counts = group_counts([0, 1, 2], [0, 1, 2], sensitive_features={"s": ["a", "b", "a"]})
    with pytest.raises(LL144InputError) as caught:
        impact_ratio_table(counts)
    assert caught.value.code == "ll144_needs_binary"


def test_presets() -> None:
    assert preset_thresholds("four_fifths") == (FOUR_FIFTHS,)
    assert FOUR_FIFTHS.metric == "disparate_impact"
    assert FOUR_FIFTHS.bound == 0.8
    assert FOUR_FIFTHS.direction == "lower"
    both = preset_thresholds("ll144", ["sex", "race"])
    assert [t.features for t in both] == [None, ("sex",), ("race",)]
    with pytest.raises(BiasChecksInputError):
        preset_thresholds("eeoc")


def test_a_category_at_exactly_min_share_is_not_excluded() -> None:
    """Regression (#17 review): 7 of 100 rows at min_share=0.07 was excluded because
    0.07 * 100 is 7.000000000000001 in floating point; the share is compared exactly."""
    n, small = 100, 7
    sex = np.array(["x"] * small + ["f"] * 50 + ["m"] * (n - 50 - small))
    y = np.ones(n, dtype=int)
    pred = np.tile([1, 0], n // 2)
    counts = group_counts(y, pred, sensitive_features={"sex": sex})
    table = impact_ratio_table(counts, min_share=0.07)
    row = next(r for r in table.rows if r.category == (("sex", "x"),))
    assert row.applicants == small
    assert not row.excluded


def test_unknown_categories_are_counted_apart_and_left_out_of_the_ratios() -> None:
    # 6 RCNY § 5-301(b): the number assessed but not included because their category is
    # unknown is reported; they are in no category's count and can never be the highest rate.
    sex = np.array(["F"] * 100 + ["M"] * 100 + ["Unknown"] * 30 + ["F"] * 10)
    race = np.array(["a"] * 200 + ["b"] * 30 + ["UNKNOWN"] * 10)
    selected = np.array([1] * 40 + [0] * 60 + [1] * 50 + [0] * 50 + [1] * 30 + [1] * 10)
    counts = group_counts(selected, selected, sensitive_features={"sex": sex, "race": race})
    table = impact_ratio_table(counts, min_share=0.0)
    by = {(r.grouping, tuple(v for _, v in r.category)): r for r in table.rows}
    assert set(by) == {
        (("sex",), ("F",)),
        (("sex",), ("M",)),
        (("race",), ("a",)),
        (("race",), ("b",)),
        (("sex", "race"), ("F", "a")),
        (("sex", "race"), ("M", "a")),
    }
    # Unknown sex (30 rows, all selected) would be the highest rate; it is not a category.
    assert by[(("sex",), ("F",))].applicants == 110  # the 10 F of unknown race still count
    assert by[(("sex",), ("F",))].selected == 50
    assert by[(("sex",), ("M",))].impact_ratio == 1.0
    assert by[(("sex",), ("F",))].impact_ratio == pytest.approx((50 / 110) / 0.5)
    assert by[(("sex", "race"), ("F", "a"))].applicants == 100
    left_out = {u.grouping: (u.applicants, u.selected) for u in table.unknown}
    assert left_out == {("sex",): (30, 30), ("race",): (10, 10), ("sex", "race"): (40, 40)}
    assert table.applicants == 240
    assert table.to_dict()["unknown"][0] == {"grouping": ["sex"], "applicants": 30, "selected": 30}
    kept = impact_ratio_table(counts, min_share=0.0, unknown=())
    assert kept.unknown == ()
    assert "unknown" not in kept.to_dict()
    assert any(dict(r.category).get("sex") == "Unknown" for r in kept.rows)


def test_a_table_without_unknowns_keeps_its_dictionary() -> None:
    table = _table({"a": 50, "b": 50}, {"a": 10, "b": 20}, 0.0)
    assert table.unknown == ()
    assert set(table.to_dict()) == {"rate_kind", "applicants", "min_share", "rows"}
