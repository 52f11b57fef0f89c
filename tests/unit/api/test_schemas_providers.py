"""The inclusion answer of the API keeps trained and merely scored models apart."""

from __future__ import annotations

from api.schemas.providers import InclusionPublic
from audit.inclusion import Inclusion, ScoredModel, TrainedModel
from core.types import to_hash32
from governance.policy.models import DatasetEntry

HASH = "0x" + "ab" * 32


def test_external_models_are_listed_as_scored_never_as_trained() -> None:
    entry = DatasetEntry.model_construct(
        dataset_id=HASH,
        records_root=HASH,
        provider="0x" + "11" * 20,
        allowed=True,
        withdrawn=False,
    )
    trained = TrainedModel("lr", HASH, "0x" + "01" * 32, None, "PASS", True, "approved")
    scored = ScoredModel(
        "xgb", HASH, "0x" + "02" * 32, None, "FAIL", False, "blocked", scored_rows=300,
        dataset_rows=1000,
    )  # fmt: skip
    public = InclusionPublic.of(Inclusion(entry, to_hash32(HASH), (trained,), (scored,)))
    answer = public.model_dump()
    assert [m["model_name"] for m in answer["models"]] == ["lr"]
    assert [m["model_name"] for m in answer["scored"]] == ["xgb"]
    assert answer["scored"][0]["scored_rows"] == 300
    assert answer["scored"][0]["dataset_rows"] == 1000
