"""HTTP statuses of the error codes: derived from categories, frozen against the old table."""

from __future__ import annotations

from api.errors import status_for, status_for_class
from governance.errors import ChainUnreachable, InvalidSignature, WrongNonce
from tests.unit.core.error_classes import all_error_classes

#: Every code's status before statuses were derived from categories (the table of
#: STATUS_BY_CODE and its fallback to the nearest mapped ancestor, else 400).
STATUS_BEFORE: dict[str, int] = {
    # #17 (api17): estimators named module:Class, and empty uploads.
    "empty_upload": 422,
    "estimator_not_allowed": 403,
    "estimator_not_classifier": 422,
    "estimator_not_found": 422,
    "model_types_not_allowed": 500,
    # #17 (onnx17, cherry-picked here): external ONNX models.
    "custom_operator_domain": 422,
    "external_model_failed": 422,
    "invalid_onnx_model": 422,
    "model_not_registered": 404,
    "onnx_model_too_large": 422,
    "onnx_output_kind_missing": 422,
    "unexpected_onnx_signature": 422,
    # #17 review (fixonnx17): outputs that cannot be audited, and the scoring memory cap.
    "invalid_onnx_output": 422,
    "onnx_memory_limit_exceeded": 422,
    # #17 gap 5 (extgate18): the scoring process's address space and time limits.
    "onnx_scoring_out_of_memory": 422,
    "onnx_scoring_timeout": 422,
    # Outside review (coded errors): CLI input errors that had no code; no route raises them.
    "invalid_output_folder": 422,
    "invalid_inclusion_proof": 422,
    # ... and the bound on uploads audited at once by one API process.
    "audits_busy": 503,
    # #11 review (session 17): a single-valued query parameter given twice; the threshold
    # parser's unknown_metric_name became the shared unknown_metric.
    "repeated_parameter": 422,
    # #16: the federation policy (and a TrainingPolicy deployed before it).
    # #15: a data provider's consent and record commitments.
    "action_not_applicable": 409,  # new in #14: a previewed action the policy would revert
    "already_voted": 409,
    "ambiguous_labels": 422,
    "anchor_conflict": 409,
    "anchor_refused": 409,
    "anvil_not_found": 503,
    "anvil_start_failed": 503,
    "api_error": 400,
    "audit_error": 400,
    "auditor_key_missing": 503,  # new in #13: AuditEnv refuses a run without the key
    "audits_disabled": 503,
    "ballot_conflict": 409,
    "below_proposal_threshold": 409,
    "bias_checks_error": 400,
    "bias_checks_input_error": 400,
    "body_too_large": 413,
    "chain_dir_busy": 503,
    "chain_unreachable": 503,
    "configuration_error": 500,
    "consent_error": 422,
    "consent_refused": 422,
    "consent_withdrawn": 409,
    "content_registered": 409,  # new in #15 review: a file offered under a second dataset id
    "contract_wallet_must_send": 403,  # new in review: its relayed call reverted on chain
    "dataset_file_missing": 500,
    "dataset_hash_mismatch": 409,
    "dataset_not_allowed": 409,
    "dataset_not_in_policy": 404,
    "dataset_not_in_spec": 409,  # new in #16: federated runs
    "dataset_not_registered": 404,
    "dataset_schema_mismatch": 422,  # new in #15: a spec combining datasets of two schemas
    "delegation_conflict": 409,
    "delegation_expired": 409,
    "deployment_config_invalid": 500,
    "deployment_file_unreadable": 503,  # new in session 24: an empty or truncated deployment.json
    "deployment_stale": 503,
    "duplicate_dataset": 409,  # new in #16: federated runs
    "empty_input": 400,
    "empty_proposal": 422,
    "epsilon_mismatch": 409,  # new in #16: federated runs
    "fairgov_error": 400,
    "federated_run_failed": 503,  # new in #16: federated runs
    "fees_not_minable": 409,
    "forbidden": 403,
    "gas_limit_above_block": 409,
    "gas_limit_too_low": 409,
    "governance_error": 400,
    "incompatible_counts": 422,  # new in #16: federated runs
    "index_deployment_mismatch": 503,
    "index_rpc_failed": 503,
    "input_file_not_found": 404,
    "insufficient_funds": 409,
    "invalid_aggregation": 422,
    "invalid_confidence_level": 422,
    "invalid_counts": 422,  # new in #16: federated runs
    "invalid_epsilon": 422,
    "invalid_krum_f": 422,
    "invalid_loosening_period": 422,  # new in #14: the protection of loosening
    "invalid_manifest": 422,
    "invalid_metric_name": 422,
    "invalid_min_nodes": 422,
    "invalid_minimum_size": 422,
    "invalid_on_inconclusive": 422,
    "invalid_mitigation": 422,
    "invalid_model_spec": 422,
    "invalid_node_config": 500,  # new in #16: federated runs
    "invalid_node_histogram": 422,  # new in #16: federated runs
    "invalid_node_reply": 422,  # new in #16: federated runs
    "invalid_node_summary": 422,  # new in #16: federated runs
    "invalid_node_update": 422,  # new in #16: federated runs
    "invalid_offer": 422,
    "invalid_parameter": 400,
    "invalid_pos_label": 400,
    "invalid_predictions": 422,
    "invalid_raw_transaction": 400,
    "invalid_report": 422,
    "invalid_salts": 422,  # new in #15: a salt not 32 bytes or a bad salts file
    "invalid_sample_weight": 400,
    "invalid_signature": 400,
    "invalid_supermajority": 422,  # new in #14: the protection of loosening
    "invalid_support": 422,
    "invalid_threshold": 400,
    "invalid_threshold_spec": 422,
    "invalid_threshold_value": 422,
    "threshold_out_of_range": 422,  # #17 gap 3: a bound outside its metric's values
    # #17: the engine's new input errors (the frame engine, the explicit task, LL144).
    "column_not_in_frame": 422,
    "scores_need_cutoff": 422,
    "ll144_needs_binary": 422,
    # #17: predictions read from files, folders and globs, locally or on a Dask cluster.
    "no_data_files": 404,
    "invalid_dask_address": 422,
    "dask_unreachable": 503,
    "invalid_trim_beta": 422,
    "invalid_withdrawal": 422,
    "key_unavailable": 500,
    "length_mismatch": 400,
    "manifest_lacks_records_root": 422,
    "manifest_mismatch": 409,
    "manifest_not_registered": 404,  # new in session 23
    "metric_has_no_interval": 422,
    "metric_not_applicable": 400,
    "missing_column": 422,
    "missing_values": 422,
    "model_file_missing": 500,
    "model_hash_mismatch": 500,
    "model_not_approved": 409,
    "nan_in_control_features": 400,
    "nan_in_labels": 400,
    "nan_in_sensitive_features": 400,
    "no_records": 422,  # new in #15: nothing to commit to
    "no_running_stack": 500,
    "no_voting_power": 409,
    "node_dropped_out": 503,  # new in #16: federated runs
    "node_lacks_both_classes": 422,  # new in #16: federated runs
    "node_not_provider": 403,  # new in #16: federated runs
    "non_binary_labels": 400,
    "not_a_cancel_call": 400,  # new in #14: the protection of loosening
    "not_a_propose_call": 400,
    "not_authenticated": 401,
    "not_dataset_provider": 403,
    "not_deployed": 500,
    "not_found": 404,
    "not_guardian": 403,  # new in #14: the protection of loosening
    "not_our_governor": 400,
    "offer_expired": 422,
    "offer_expires_before_execution": 422,
    "offer_not_dated": 422,  # new in #15 review: an offer with issuedAt 0
    "offer_not_yet_valid": 422,
    "offer_signature_invalid": 403,
    "offer_stale": 409,
    "policy_lacks_evidence_rule": 503,
    "policy_lacks_federation_policy": 503,
    "port_in_use": 503,
    "privacy_budget_spent": 409,  # new in #16: federated runs
    "privacy_not_applicable": 422,  # new in #16: federated runs
    "proposal_exists": 409,
    "call_already_held": 409,  # new in session 23
    "proposal_not_active": 409,
    "proposal_not_cancellable": 409,  # new in #14: the protection of loosening
    "proposal_not_loosening": 409,  # new in #14: the protection of loosening
    "proposal_would_revert": 409,
    "provider_mismatch": 422,
    "rate_limited": 429,
    "record_index_out_of_range": 422,  # new in #15
    "record_not_in_dataset": 422,  # new in #15: a record proof that does not verify
    "records_count_mismatch": 422,  # new in session 26: a manifest's records vs its file
    "records_root_mismatch": 422,
    "report_corrupt": 500,
    "report_not_canonical": 422,
    "report_write_failed": 500,  # new in chaos fixes: the reports folder cannot be written
    "restricted_proposer": 400,
    "reward_already_claimed": 409,  # new in #15: providers' rewards
    "reward_claim_deadline_too_soon": 422,  # new in #15: a deadline the relayer cannot meet
    "reward_claim_expired": 422,  # new in #15: providers' rewards
    "reward_epoch_cancelled": 409,  # new in #15: providers' rewards
    "reward_invalid_contribution": 422,  # new in #15: providers' rewards
    "reward_invalid_proof": 422,  # new in #15: providers' rewards
    "reward_no_contributions": 422,  # new in #15: providers' rewards
    "reward_not_in_statement": 404,  # new in #15: providers' rewards
    "reward_post_conflict": 409,  # new in #15: providers' rewards
    "reward_post_refused": 409,  # new in #15: providers' rewards
    "reward_run_not_approved": 409,  # new in #15 review: a root for a run with no PASS audit
    "reward_statement_unknown": 404,  # new in session 23
    "reward_unknown_epoch": 404,  # new in #15: providers' rewards
    "reward_wallet_refused_signature": 422,  # new in #15: an EIP-1271 wallet refused a claim
    "reward_window_open": 409,  # new in #15: providers' rewards
    "run_inputs_changed": 409,  # new in chaos fixes: a queued run's policy changed before it ran
    "run_taken_over": 409,  # new in session 25: recovery handed a queued run to another process
    "salts_mismatch": 422,  # new in #15: salts file and data file disagree
    "signature_error": 400,
    "signature_malleable": 400,
    "signed_call_would_revert": 422,  # new in #15: providers' rewards
    "signer_mismatch": 400,
    "siwe_not_configured": 500,
    "siwe_rejected": 401,
    "snapshot_unavailable": 404,
    "stack_mismatch": 500,
    "statement_epoch_mismatch": 409,  # new in session 23: the whole epoch is checked
    "statement_hash_mismatch": 409,  # new in #15: providers' rewards
    "statement_not_recomputable": 409,  # new in #15: providers' rewards
    "too_few_nodes": 409,  # new in #16: federated runs
    "too_few_rows_per_class": 422,  # new in #16 review: a node label with under 2 rows
    "too_many_groups": 422,  # new in session 24: an id column as a sensitive feature
    "transaction_failed": 502,
    "uncommittable_column": 422,  # new in #17: a Parquet column with no stable text form
    "unknown_metric": 422,
    "unknown_proposal": 404,
    "unknown_reference_group": 400,
    "unminable_transaction": 409,
    "unreadable_file": 422,
    "unreadable_folder": 422,  # new in session 22
    "unsupported_file_format": 422,
    "unsupported_mitigation": 422,
    "untrusted_model_type": 500,
    "voted_manifest_not_stored": 404,  # new in #18 review: a federated run's voted manifest
    "withdrawal_signature_invalid": 403,
    "withdrawal_not_provider": 403,  # new in review: a gasless withdrawal voiding no own offer
    "withdrawal_already_held": 409,  # new in session 25: another withdrawal on its way voids it all
    "withdrawal_stale": 409,
    "withdrawal_target_unknown": 404,
    "wrong_chain": 400,
    "wrong_nonce": 409,
    "wrong_transaction_nonce": 409,
    "wrong_verifying_contract": 400,
}


#: Roots that are never raised: 400 came from the old table's catch-all; as the root of
#: leaves that each choose a category, they now carry FairgovError's INTERNAL (500).
ABSTRACT_ROOTS = ("fairgov_error", "governance_error", "audit_error", "api_error")

#: The engine's input errors had no entry and fell through to the root's 400. They are INVALID
#: values like every other (422), as four of them already were. No route raises them: the API
#: reaches bias_checks only inside background audit runs, which record the code in the run.
ENGINE_INPUT = (
    "bias_checks_error",
    "bias_checks_input_error",
    "empty_input",
    "invalid_parameter",
    "invalid_pos_label",
    "invalid_sample_weight",
    "invalid_threshold",
    "length_mismatch",
    "metric_not_applicable",
    "nan_in_control_features",
    "nan_in_labels",
    "nan_in_sensitive_features",
    "non_binary_labels",
    "unknown_reference_group",
)


def test_every_code_keeps_its_status_but_the_deliberate_changes():
    now = {cls.code: status_for_class(cls) for cls in all_error_classes()}
    assert set(now) == set(STATUS_BEFORE)
    changed = {
        code: (STATUS_BEFORE[code], now[code]) for code in now if now[code] != STATUS_BEFORE[code]
    }
    assert changed == {
        **{code: (400, 500) for code in ABSTRACT_ROOTS},
        **{code: (400, 422) for code in ENGINE_INPUT},
    }


def test_the_nearest_declaration_decides():
    # WrongNonce is a SignatureError (400) that declares CONFLICT itself.
    assert status_for_class(WrongNonce) == 409
    assert status_for_class(InvalidSignature) == 400

    class NewLeaf(ChainUnreachable):
        code = "brand_new"

    assert status_for_class(NewLeaf) == 503
    assert status_for(ChainUnreachable("http://x", "down")) == 503
