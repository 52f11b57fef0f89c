"""What TrainingPolicy should hold, as test_policy_stateful.py's machine predicts it: a Python
model of the policy, written from the rules' statement (issue #15 for consent), not the Solidity."""

from dataclasses import dataclass, field

from dao import ZERO_HASH, b32

NONE = b32("none")
DEFAULT_RULE = (950_000, 30, 10, 0)
DEFAULT_FEDERATION = (0, 200_000, 0, 0, 2)  # FedAvg, beta 0.2, f 0, no noise, 2 nodes
FEDMEDIAN, FEDTRIMMEDAVG, KRUM = 1, 2, 3


@dataclass
class Model:
    """What the policy should hold. Metrics keep the contract's swap-and-pop order."""

    version: int = 0
    datasets: dict = field(default_factory=dict)  # id -> (accepted dao.Offer, allowed)
    withdrawn: dict = field(default_factory=dict)  # (id, provider) -> latest withdrawal time
    metrics: list = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)  # metric -> (value, direction)
    mitigation: tuple = (NONE, ZERO_HASH)
    evidence_metrics: list = field(default_factory=list)  # overrides, swap-and-pop order
    evidence: dict = field(default_factory=lambda: {ZERO_HASH: DEFAULT_RULE})
    federation: tuple = DEFAULT_FEDERATION

    @staticmethod
    def federation_error(federation):
        """The error setFederationPolicy(federation) raises, in the contract's order (#16)."""
        aggregation, beta, krum_f, _, min_nodes = federation
        if not 0 < beta < 500_000:
            return "TrainingPolicyInvalidTrimBeta(uint64)", (beta,)
        if aggregation != KRUM and krum_f != 0:
            return "TrainingPolicyUnusedKrumF(uint8,uint32)", (aggregation, krum_f)
        needed = 2 * krum_f + 3 if aggregation == KRUM else 1
        if aggregation == FEDMEDIAN:
            needed = 3  # the median of two is their mean
        if aggregation == FEDTRIMMEDAVG:
            needed = -(-1_000_000 // beta)  # cuts floor(beta * n) from each end: at least one
        if min_nodes < needed:
            return "TrainingPolicyTooFewNodes(uint32,uint256)", (min_nodes, needed)
        return None

    def clear(self, metric):
        position = self.metrics.index(metric)
        self.metrics[position] = self.metrics[-1]
        self.metrics.pop()
        del self.thresholds[metric]

    def clear_evidence(self, metric):
        position = self.evidence_metrics.index(metric)
        self.evidence_metrics[position] = self.evidence_metrics[-1]
        self.evidence_metrics.pop()
        del self.evidence[metric]

    def effective_rule(self, metric):
        return self.evidence.get(metric, self.evidence[ZERO_HASH])

    def allowed(self):
        return [i for i, (_, allowed) in self.datasets.items() if allowed]

    def record(self, dataset_id):
        accepted, allowed = self.datasets[dataset_id]
        return tuple(accepted.record(allowed=allowed).values())

    def offer_error(self, made, now, *, forged):
        """The error allowDataset(made) raises in a block at `now`, in the contract's order."""
        dataset_id, issued_at = made.dataset_id, made.issued_at
        if ZERO_HASH in (dataset_id, made.content_hash, made.manifest_hash, made.records_root):
            return "TrainingPolicyZeroHash()", ()
        if now > made.deadline:
            return "TrainingPolicyOfferExpired(bytes32,uint64)", (dataset_id, made.deadline)
        if issued_at > now:
            return "TrainingPolicyOfferFromTheFuture(bytes32,uint64)", (dataset_id, issued_at)
        current = self.datasets.get(dataset_id, (None,))[0]
        if current is not None and current.provider != made.provider:
            return "TrainingPolicyNotProvider(bytes32,address)", (dataset_id, made.provider)
        if current is not None and issued_at <= current.issued_at:
            stale = (dataset_id, issued_at, current.issued_at)
            return "TrainingPolicyStaleOffer(bytes32,uint64,uint64)", stale
        withdrawn = self.withdrawn.get((dataset_id, made.provider), 0)
        if issued_at <= withdrawn:
            cancelled = (dataset_id, issued_at, withdrawn)
            return "TrainingPolicyConsentWithdrawn(bytes32,uint64,uint64)", cancelled
        if forged:
            signer = (dataset_id, made.provider)
            return "TrainingPolicyInvalidOfferSignature(bytes32,address)", signer
        return None

    def withdrawal_error(self, dataset_id, provider, issued_at):
        current = self.datasets.get(dataset_id, (None,))[0]
        if current is not None and current.provider != provider:
            return "TrainingPolicyNotProvider(bytes32,address)", (dataset_id, provider)
        last = self.withdrawn.get((dataset_id, provider), 0)
        if issued_at <= last:
            stale = (dataset_id, issued_at, last)
            return "TrainingPolicyStaleWithdrawal(bytes32,uint64,uint64)", stale
        return None

    def withdraw(self, dataset_id, provider, issued_at):
        """Applies a withdrawal; returns whether it revoked the dataset."""
        self.withdrawn[dataset_id, provider] = issued_at
        accepted, allowed = self.datasets.get(dataset_id, (None, False))
        revoked = allowed and accepted.issued_at <= issued_at
        if revoked:
            self.datasets[dataset_id] = (accepted, False)
        return revoked
