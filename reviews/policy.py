"""The approval rule: does a request's set of sign-offs satisfy its model's policy?

This is the only place that answers it; services, pages, API and admin all ask here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from governance.models import ApprovalPolicy, RiskTier
from governance.roles import Role
from governance.services import policies_by_tier, policy_for_tier
from models_registry.models import RegisteredModel
from reviews.models import PromotionRequest, SignOff

# Stricter tiers later: the order `decision_tier` takes the maximum in.
TIER_ORDER = (RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH)


def is_stale(sign_off: SignOff, current_card_hash: str) -> bool:
    """A sign-off counts only for the card it was given on."""
    return sign_off.card_hash != current_card_hash


def card_hash_for(request: PromotionRequest) -> str:
    """The card hash a request's sign-offs are judged against.

    While the request is open: the version's current card. Once it is closed: the card as it
    stood when it closed, since closing it changes the card (its approvals section), and that
    must not turn the request's own approvals stale after the fact.
    """
    if not request.is_open and request.decided_card_hash:
        return request.decided_card_hash
    return request.model_version.card_hash


def decision_tier(request: PromotionRequest, context: PolicyContext | None = None) -> str:
    """The risk tier whose policy decides `request`: the strictest its model has had while
    the request was open.

    Lowering a tier after asking must not lower the bar (issue #8: request under `high`,
    patch to `low`, get one approval, execute, patch back). So the tier at the request's
    creation counts, every tier the model's history shows between creation and closing
    counts, and, while the request is open, the model's current tier counts. Raising a tier
    applies at once; lowering it applies to requests made afterwards. The model's history
    row of a change is written in the change's transaction under the model's row lock,
    which request creation and execution also take, so no change slips between them.

    `context` (from `policy_context`) holds the history rows read for many requests at once;
    without it this request's are read here. Either way the window below decides.
    """
    model = request.model_version.model
    tiers = {request.requested_tier}
    if request.is_open:
        tiers.add(model.risk_tier)
    if context is None:
        changes = _tier_changes([model.pk], since=request.created_at).get(model.pk, [])
    else:
        changes = context.tier_changes.get(model.pk, [])
    tiers.update(
        tier
        for changed_at, tier in changes
        if changed_at > request.created_at
        and (request.closed_at is None or changed_at <= request.closed_at)
    )
    known = [tier for tier in TIER_ORDER if tier in tiers]
    return known[-1] if known else model.risk_tier


@dataclass(frozen=True)
class PolicyContext:
    """What evaluating many requests reads once instead of once per request: every tier's
    policy and the tier history of their models (model id -> (changed at, tier) rows)."""

    policies: dict[str, ApprovalPolicy]
    tier_changes: dict[int, list[tuple[datetime, str]]]


def policy_context(requests: Sequence[PromotionRequest]) -> PolicyContext:
    """Two queries for a page of requests (their versions' models selected with them)."""
    since = min((r.created_at for r in requests), default=None)
    model_ids = {r.model_version.model_id for r in requests}
    changes = _tier_changes(model_ids, since=since) if since is not None else {}
    return PolicyContext(policies=policies_by_tier(), tier_changes=changes)


def _tier_changes(
    model_ids: Iterable[int], *, since: datetime
) -> dict[int, list[tuple[datetime, str]]]:
    rows = RegisteredModel.history.filter(id__in=list(model_ids), history_date__gt=since)
    found: dict[int, list[tuple[datetime, str]]] = {}
    for model_id, changed_at, tier in rows.values_list("id", "history_date", "risk_tier"):
        found.setdefault(model_id, []).append((changed_at, tier))
    return found


def _assign_roles(roles: Sequence[str], approvals: Sequence[SignOff]) -> list[str]:
    """Required roles that cannot each be covered by a *different* approver.

    One person holding two roles does not satisfy two role requirements; this is a small
    bipartite matching (roles x approvers), solved by augmenting paths.
    """
    match: dict[int, str] = {}  # approver index -> role it covers

    def place(role: str, seen: set[int]) -> bool:
        for index, sign_off in enumerate(approvals):
            if role in sign_off.signer_roles and index not in seen:
                seen.add(index)
                if index not in match or place(match[index], seen):
                    match[index] = role
                    return True
        return False

    return [role for role in roles if not place(role, set())]


@dataclass(frozen=True)
class PolicyOutcome:
    policy: ApprovalPolicy
    valid_approvals: list[SignOff] = field(default_factory=list)
    stale: list[SignOff] = field(default_factory=list)
    rejections: list[SignOff] = field(default_factory=list)
    missing_approvals: int = 0
    missing_roles: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return bool(self.rejections)

    @property
    def satisfied(self) -> bool:
        return not self.rejected and self.missing_approvals == 0 and not self.missing_roles

    @property
    def progress(self) -> str:
        """The request's standing in a few words, for lists: "1 of 2, needs a validator"."""
        if self.rejected:
            return "rejected"
        required = self.policy.required_approvals
        text = f"{min(len(self.valid_approvals), required)} of {required}"
        if self.missing_roles:
            labels = [_with_article(Role(role).label.lower()) for role in self.missing_roles]
            text += ", needs " + " and ".join(labels)
        return text

    def summary(self) -> str:
        if self.rejected:
            return "Rejected by " + ", ".join(s.signer.username for s in self.rejections) + "."
        if self.satisfied:
            return "Approved: the policy is satisfied."
        parts = []
        if self.missing_approvals:
            noun = "approval" if self.missing_approvals == 1 else "approvals"
            parts.append(f"{self.missing_approvals} more {noun}")
        if self.missing_roles:
            owners = [_one_from(Role(role).label.lower()) for role in self.missing_roles]
            parts.append(" and ".join(owners))
        return "Needs " + ", including ".join(parts) + "."


def _with_article(label: str) -> str:
    """'validator' -> 'a validator'; 'independent reviewer' -> 'an independent reviewer'."""
    article = "an" if label[:1] in "aeiou" else "a"
    return f"{article} {label}"


def _one_from(label: str) -> str:
    """'validator' -> 'one from a validator'."""
    return f"one from {_with_article(label)}"


def policy_evaluate(
    request: PromotionRequest,
    sign_offs: Iterable[SignOff] | None = None,
    context: PolicyContext | None = None,
) -> PolicyOutcome:
    """Evaluate the request against the current policy of its `decision_tier`; pages that
    evaluate many pass a `policy_context` of them, so each costs no query."""
    tier = decision_tier(request, context)
    policy = policy_for_tier(tier) if context is None else context.policies[tier]
    sign_offs = list(request.sign_offs.select_related("signer") if sign_offs is None else sign_offs)
    rejections = [s for s in sign_offs if s.decision == SignOff.Decision.REJECT]
    approvals = [s for s in sign_offs if s.decision == SignOff.Decision.APPROVE]
    current = card_hash_for(request)
    stale = [s for s in approvals if is_stale(s, current)]
    valid = [s for s in approvals if not is_stale(s, current)]
    return PolicyOutcome(
        policy=policy,
        valid_approvals=valid,
        stale=stale,
        rejections=rejections,
        missing_approvals=max(0, policy.required_approvals - len(valid)),
        missing_roles=_assign_roles(list(policy.required_roles), valid),
    )
