"""Audits of uploaded predictions: the options (query parameters) and the outcome."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.audits import CheckSummary
from api.schemas.common import EXAMPLE_HASH
from audit.reference import Reference, parse_reference
from bias_checks import EvidenceRule, OnInconclusive, Verdict
from core.numbers import is_decimal_text

Column = Annotated[str, Field(min_length=1, max_length=200)]
#: The most bootstrap replicates an upload may ask for: the default of
#: ``fairgov audit predictions`` (which has no cap: it runs on the user's own machine).
MAX_N_BOOT = 1000


class PredictionsOptions(BaseModel):
    """The options of ``fairgov audit predictions``, as query parameters."""

    model_config = ConfigDict(extra="forbid")

    label: Column = Field(description="Column with the true outcome.")
    prediction: Column = Field(
        description="Column with the predicted label, or a score with `cutoff`."
    )
    sensitive: list[Column] = Field(
        min_length=1,
        max_length=20,
        description="Sensitive feature column(s); repeat the parameter or separate by commas.",
    )
    positive: str | None = Field(
        default=None, max_length=200, description="The positive outcome, unless labels are 0/1."
    )
    cutoff: float | None = Field(
        default=None, allow_inf_nan=False, description="Scores >= this are positive."
    )
    score: Column | None = Field(
        default=None,
        description="Column of positive-class scores: adds roc_auc, brier_score and "
        "calibration_error by group.",
    )
    threshold: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=list,
        max_length=50,
        description="A bound, METRIC<=VALUE or METRIC>=VALUE, optionally with its own "
        "evidence rule ('METRIC<=VALUE,confidence=0.99'); repeatable. None: the defaults.",
    )
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="The reference (privileged) group of directional metrics: "
        "FEATURE=VALUE[,FEATURE=VALUE...] naming one value of every sensitive column, 'best' "
        "(the best group of each metric) or 'majority' (the largest group, the default). "
        "A value that does not occur: 422 `unknown_reference_group`.",
        examples=["sex=male,race=A"],
    )
    # The evidence rule's values are checked by the engine's EvidenceRule (below), so the API
    # refuses what the CLI and governance refuse, with the same codes.
    # Text, read by EvidenceRule.from_text as the CLI reads its options: plain ASCII digits
    # only, so `0.9_5`, other scripts' digits and `30.0` are refused with the engine's codes.
    confidence: str = Field(
        default="0.95",
        description="Evidence rule: confidence of every interval, strictly between 0.5 and 1 "
        "with at most six decimals, in ASCII digits (else 422 `invalid_confidence_level`).",
        examples=["0.95"],
    )
    min_group_size: str = Field(
        default="30",
        description="Evidence rule: smaller groups are not judged; a whole number from 0 to "
        "2**64 - 1 in ASCII digits (else 422 `invalid_minimum_size`).",
        examples=["30"],
    )
    min_denominator: str = Field(
        default="10",
        description="Evidence rule: fewest rows in a rate's denominator; as min_group_size.",
        examples=["10"],
    )
    on_inconclusive: str = Field(
        default=OnInconclusive.BLOCK.value,
        description="Evidence rule: what INCONCLUSIVE does at the gate (else 422 "
        "`invalid_on_inconclusive`).",
        json_schema_extra={"enum": [o.value for o in OnInconclusive]},
    )
    n_boot: int = Field(
        default=MAX_N_BOOT,
        ge=0,
        le=MAX_N_BOOT,
        description="Bootstrap replicates; at most the CLI's default (any signed-in user may "
        "upload, and the bootstrap runs in the API process).",
    )
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Seed of the bootstrap.")
    filename: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The file's name, for the report; its suffix (.csv, .tsv, .parquet) "
        "gives the format. Default: predictions + the Content-Type's suffix.",
    )

    @field_validator("sensitive", mode="after")
    @classmethod
    def _comma_separated(cls, value: list[str]) -> list[str]:
        parts = [p.strip() for v in value for p in v.split(",") if p.strip()]
        if not parts:
            raise ValueError("name at least one sensitive column")
        return list(dict.fromkeys(parts))

    @field_validator("cutoff", mode="before")
    @classmethod
    def _plain_cutoff(cls, value: object) -> object:
        # pydantic's float reads "0_5" as 5.0, which made every prediction negative
        if isinstance(value, str) and not is_decimal_text(value):
            raise ValueError("cutoff must be a plain decimal number such as 0.5")
        return value

    @field_validator("reference", mode="after")
    @classmethod
    def _reference_form(cls, value: str | None) -> str | None:
        if value is not None:
            parse_reference(value)  # its InvalidParameterError is a ValueError: a 422
        return value

    @model_validator(mode="after")
    def _evidence_rule(self) -> PredictionsOptions:
        self.evidence()  # the engine's error, a ValueError: a 422 with its own code
        return self

    def reference_group(self) -> Reference | None:
        """The reference group, parsed (None: the default)."""
        return None if self.reference is None else parse_reference(self.reference)

    def evidence(self) -> EvidenceRule:
        """The audit's evidence rule."""
        return EvidenceRule.from_text(
            {
                "confidence_level": self.confidence,
                "min_group_size": self.min_group_size,
                "min_denominator": self.min_denominator,
                "on_inconclusive": self.on_inconclusive,
            }
        )


class PredictionsAuditPublic(BaseModel):
    """The outcome of an audit of uploaded predictions, and where its report files are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": EXAMPLE_HASH,
                    "report_hash": EXAMPLE_HASH,
                    "verdict": "FAIL",
                    "checks": [
                        {
                            "metric": "demographic_parity_difference",
                            "direction": "upper",
                            "bound": 0.1,
                            "method": "between_groups",
                            "agg": "worst_case",
                            "value": 0.21,
                            "ci": {
                                "low": 0.12,
                                "high": 0.3,
                                "method": "newcombe",
                                "confidence_level": 0.95,
                            },
                            "pair": [
                                {"group": {"sex": "M"}, "count": 620, "value": 0.55},
                                {"group": {"sex": "F"}, "count": 380, "value": 0.34},
                            ],
                            "verdict": "FAIL",
                            "reason": "exceeds_bound",
                            "rows_needed": None,
                            "unreliable_groups": [
                                {"group": {"sex": "X"}, "count": 12, "value": 0.5}
                            ],
                            "label": 1,
                            "control": {},
                            "evidence_rule": {
                                "confidence_level": 0.95,
                                "min_group_size": 30,
                                "min_denominator": 10,
                                "on_inconclusive": "block",
                            },
                        }
                    ],
                    "used_default_thresholds": True,
                    "warnings": [],
                    "files": {"json": f"/v1/audits/predictions/{EXAMPLE_HASH}.json"},
                }
            ]
        }
    )

    run_id: str = Field(description="Fixed by the file's sha256 and the options.")
    report_hash: str = Field(description="sha256 of report.json; it names the report's files.")
    verdict: Verdict
    checks: list[CheckSummary]
    used_default_thresholds: bool
    warnings: list[str]
    files: dict[str, str] = Field(description="Download path of each report file, by format.")
