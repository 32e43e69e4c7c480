"""Races on real PostgreSQL row locks: many threads, each with its own connection.

SQLite serializes whole transactions, so these only mean something on PostgreSQL; they skip
on the embedded default (and fail under REQUIRE_SERVICES=True, as in CI).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from governance.audit_context import Origin, acting_as
from governance.errors import Conflict
from governance.models import AuditEvent
from governance.services import audit_chain_verify, user_set_roles
from models_registry import services as registry
from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel
from reviews import services as reviews
from reviews.models import PromotionRequest, SignOff
from reviews.policy import policy_evaluate
from tests.conftest import is_postgres, skip_unless

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT = 60


@pytest.fixture(autouse=True)
def _postgres_only(settings: Any) -> None:
    skip_unless(is_postgres(), "race tests need PostgreSQL row locks (set DATABASE_URL)")


@dataclass
class Outcome:
    user: str
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def race(calls: list[tuple[Any, Callable[[Any], Any]]]) -> list[Outcome]:
    """Run each `fn(user)` in its own thread, all released at once by a barrier.

    Each thread loads its own copy of the user, acts as it from the API, and closes its
    database connection at the end. Returns one Outcome per call, in order.
    """
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome(user=user.username) for user, _ in calls]

    def body(index: int, user_pk: int, fn: Callable[[Any], Any]) -> None:
        try:
            user = get_user_model().objects.get(pk=user_pk)  # opens this thread's connection
            barrier.wait(timeout=JOIN_TIMEOUT)
            with acting_as(origin=Origin.API, user=user):
                outcomes[index].value = fn(user)
        except BaseException as exc:
            outcomes[index].error = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=body, args=(i, user.pk, fn), daemon=True)
        for i, (user, fn) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running after {JOIN_TIMEOUT}s (deadlock?): {stuck}"
    return outcomes


def split(outcomes: list[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    """(successes, failures); any failure other than Conflict fails the test with its error."""
    unexpected = [o for o in outcomes if not o.ok and not isinstance(o.error, Conflict)]
    assert not unexpected, [(o.user, repr(o.error)) for o in unexpected]
    return [o for o in outcomes if o.ok], [o for o in outcomes if not o.ok]


def make_people(prefix: str, role: str, count: int) -> list[Any]:
    with acting_as(origin=Origin.SYSTEM):
        return [user_set_roles(username=f"{prefix}-{i}", roles=[role])[0] for i in range(count)]


def request_for(version: ModelVersion, requester: Any) -> PromotionRequest:
    with acting_as(origin=Origin.SYSTEM, user=requester):
        return reviews.promotion_request_create(
            actor=requester, version=version, justification="better AUC on the holdout"
        )


def sign(request: PromotionRequest, signer: Any, decision: str = "approve") -> None:
    with acting_as(origin=Origin.SYSTEM, user=signer):
        reviews.signoff_create(actor=signer, request_id=request.pk, decision=decision)


def assert_audit_chain_intact() -> None:
    assert audit_chain_verify() == []
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))


def test_concurrent_executions_of_one_request_promote_once(users, make_model, make_version):
    model = make_model(risk_tier="low")
    version = make_version(model)
    request = request_for(version, users["ds"])
    sign(request, users["board"])
    executors = make_people("executor", "data_scientist", 12)

    outcomes = race(
        [
            (user, lambda u: reviews.promotion_execute(actor=u, request_id=request.pk))
            for user in executors
        ]
    )

    successes, conflicts = split(outcomes)
    assert len(successes) == 1, [(o.user, repr(o.error)) for o in outcomes]
    assert len(conflicts) == len(executors) - 1
    assert all("executed" in str(o.error) for o in conflicts)
    winner = get_user_model().objects.get(username=successes[0].user)

    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.EXECUTED
    assert request.executed_by == winner
    assert ModelVersion.objects.filter(model=model, stage="production").count() == 1
    version.refresh_from_db()
    assert version.stage == ModelVersion.Stage.PRODUCTION
    events = DeploymentEvent.objects.filter(model=model)
    assert events.count() == 1
    assert events.get().kind == DeploymentEvent.Kind.PROMOTED
    assert events.get().actor == winner
    executed_rows = request.history.filter(status=PromotionRequest.Status.EXECUTED)
    assert executed_rows.count() == 1
    assert executed_rows.get().history_origin == Origin.API
    assert AuditEvent.objects.filter(action="promotion_request.executed").count() == 1
    assert_audit_chain_intact()


def test_one_signer_signing_concurrently_gets_one_sign_off(users, make_model, make_version):
    model = make_model(risk_tier="high")
    version = make_version(model)
    request = request_for(version, users["ds"])
    signer = users["validator"]

    outcomes = race(
        [
            (
                signer,
                lambda u: reviews.signoff_create(
                    actor=u, request_id=request.pk, decision="approve", comment="checked"
                ),
            )
            for _ in range(10)
        ]
    )

    successes, conflicts = split(outcomes)
    assert len(successes) == 1
    assert len(conflicts) == 9
    assert all("already signed" in str(o.error) for o in conflicts)
    assert SignOff.objects.filter(request=request).count() == 1
    assert SignOff.objects.get(request=request).signer == signer
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.PENDING  # high risk: 1 of 3
    assert AuditEvent.objects.filter(action="promotion_request.signed.approve").count() == 1
    assert_audit_chain_intact()


@pytest.mark.parametrize(
    ("tier", "signers", "expected_status"),
    [
        # 3 approvals with a validator and a compliance officer among them.
        ("high", {"validator": 2, "board": 4, "compliance": 2}, "approved"),
        # Plenty of approvals, but nobody from compliance: the policy is not satisfied.
        ("high", {"validator": 2, "board": 6}, "pending"),
        # 2 approvals including a validator.
        ("medium", {"board": 6, "validator": 1}, "approved"),
        ("medium", {"board": 8}, "pending"),
        ("low", {"board": 4, "compliance": 4}, "approved"),
    ],
)
def test_many_signers_approving_concurrently(
    users, make_model, make_version, tier, signers, expected_status
):
    model = make_model(risk_tier=tier)
    version = make_version(model)
    request = request_for(version, users["ds"])
    people = [user for role, n in signers.items() for user in make_people(role, role, n)]

    outcomes = race(
        [
            (
                user,
                lambda u: reviews.signoff_create(
                    actor=u, request_id=request.pk, decision="approve", comment=f"ok {u}"
                ),
            )
            for user in people
        ]
    )

    successes, _ = split(outcomes)
    assert len(successes) == len(people), [(o.user, repr(o.error)) for o in outcomes]
    sign_offs = SignOff.objects.filter(request=request)
    assert sorted(sign_offs.values_list("signer__username", flat=True)) == sorted(
        u.username for u in people
    )
    assert all(s.card_hash == version.card_hash for s in sign_offs)
    request.refresh_from_db()
    outcome = policy_evaluate(request)
    assert len(outcome.valid_approvals) == len(people)
    assert request.status == expected_status
    assert (request.status == PromotionRequest.Status.APPROVED) == outcome.satisfied
    assert (request.decided_at is not None) == outcome.satisfied
    # The status moved to approved once at most, and never back (no approval went stale).
    approvals = AuditEvent.objects.filter(action="promotion_request.approved")
    assert approvals.count() == (1 if outcome.satisfied else 0)
    assert AuditEvent.objects.filter(action="promotion_request.signed.approve").count() == len(
        people
    )
    assert_audit_chain_intact()


def test_a_reject_racing_approvals_leaves_a_rejected_request(users, make_model, make_version):
    model = make_model(risk_tier="medium")
    version = make_version(model)
    request = request_for(version, users["ds"])
    approvers = make_people("approver", "board", 6) + make_people("checker", "validator", 2)
    vetoer = make_people("vetoer", "compliance", 1)[0]

    def approve(u: Any) -> SignOff:
        return reviews.signoff_create(actor=u, request_id=request.pk, decision="approve")

    def reject(u: Any) -> SignOff:
        return reviews.signoff_create(actor=u, request_id=request.pk, decision="reject")

    outcomes = race(
        [(u, approve) for u in approvers[:4]]
        + [(vetoer, reject)]
        + [(u, approve) for u in approvers[4:]]
    )

    successes, conflicts = split(outcomes)
    assert vetoer.username in {o.user for o in successes}
    assert all("rejected" in str(o.error) for o in conflicts)
    request.refresh_from_db()
    assert request.status == PromotionRequest.Status.REJECTED
    version.refresh_from_db()
    assert version.stage == ModelVersion.Stage.REJECTED
    # Every successful call left its sign-off, the reject last; no failed one left anything.
    signed = list(SignOff.objects.filter(request=request).order_by("signed_at", "id"))
    assert {s.signer.username for s in signed} == {o.user for o in successes}
    assert signed[-1].decision == SignOff.Decision.REJECT
    assert_audit_chain_intact()


@pytest.mark.parametrize("n_versions", [2, 4])
def test_concurrent_executions_of_different_versions_leave_one_production(
    users, make_model, make_version, n_versions
):
    model = make_model(risk_tier="low")
    versions = [make_version(model) for _ in range(n_versions)]
    requests = [request_for(v, users["ds"]) for v in versions]
    for request in requests:
        sign(request, users["board"])
    executors = make_people("executor", "data_scientist", n_versions)

    outcomes = race(
        [
            (user, lambda u, pk=request.pk: reviews.promotion_execute(actor=u, request_id=pk))
            for user, request in zip(executors, requests, strict=True)
        ]
    )

    successes, _ = split(outcomes)
    assert len(successes) == n_versions, [(o.user, repr(o.error)) for o in outcomes]
    stages = dict(ModelVersion.objects.filter(model=model).values_list("version", "stage"))
    assert sorted(stages.values()) == ["archived"] * (n_versions - 1) + ["production"]
    assert all(
        r.status == PromotionRequest.Status.EXECUTED
        for r in PromotionRequest.objects.filter(pk__in=[r.pk for r in requests])
    )
    # The promotions were serialized: each replaced the one before it, the last one stands.
    events = list(DeploymentEvent.objects.filter(model=model).order_by("occurred_at", "id"))
    assert len(events) == n_versions
    assert all(e.kind == DeploymentEvent.Kind.PROMOTED for e in events)
    assert events[0].previous_version is None
    for before, after in itertools.pairwise(events):
        assert after.previous_version_id == before.version_id
    assert stages[events[-1].version.version] == "production"
    assert_audit_chain_intact()


def test_concurrent_registrations_get_consecutive_numbers(users, make_model):
    model = make_model(risk_tier="low")
    registrars = make_people("registrar", "data_scientist", 12)

    outcomes = race(
        [
            (
                user,
                lambda u: (
                    registry.version_register(
                        actor=u,
                        model=RegisteredModel.objects.get(pk=model.pk),
                        metrics={"auc": 0.9},
                    ).version
                ),
            )
            for user in registrars
        ]
    )

    successes, _ = split(outcomes)
    assert len(successes) == len(registrars), [(o.user, repr(o.error)) for o in outcomes]
    numbers = sorted(o.value for o in successes)
    assert numbers == list(range(1, len(registrars) + 1))
    stored = ModelVersion.objects.filter(model=model)
    assert sorted(stored.values_list("version", flat=True)) == numbers
    # Each registrar got the row it registered, and each card was built (tasks run eagerly).
    for outcome in successes:
        row = stored.get(version=outcome.value)
        assert row.registered_by.username == outcome.user
        assert row.card_status == ModelVersion.CardStatus.READY
        assert row.card_revisions.count() == 1
    assert_audit_chain_intact()


@pytest.mark.parametrize("action", ["execute", "reject"])
def test_card_rebuild_racing_a_decision_does_not_deadlock(
    users, make_model, make_version, monkeypatch, action
):
    """A card rebuilt while a request is executed or rejected: a consistent end, no error.

    The decision is held for a moment once it has its locks, so the rebuild (which holds
    the version while it re-checks the version's requests) starts inside that window: the
    interleaving that deadlocks if the two take the version and request rows in opposite
    orders.
    """
    from models_registry.cards import card_build, card_hash, card_regenerate

    model = make_model(risk_tier="low")
    version = make_version(model)
    request = request_for(version, users["ds"])
    sign(request, users["board"])
    RegisteredModel.objects.filter(pk=model.pk).update(description="retrained on 2025 data")

    lock = reviews._lock

    def slow_lock(request_id: int, **kwargs: Any) -> PromotionRequest:
        locked = lock(request_id, **kwargs)
        if threading.current_thread().name == "decision":
            time.sleep(0.5)
        return locked

    monkeypatch.setattr(reviews, "_lock", slow_lock)

    def decide(u: Any) -> PromotionRequest | SignOff:
        threading.current_thread().name = "decision"
        if action == "execute":
            return reviews.promotion_execute(actor=u, request_id=request.pk)
        return reviews.signoff_create(actor=u, request_id=request.pk, decision="reject")

    def rebuild_card(u: Any) -> Any:
        time.sleep(0.15)
        with acting_as(origin=Origin.TASK):
            return card_regenerate(version_id=version.pk, reason="model details edited")

    decider = users["ds"] if action == "execute" else users["board2"]
    decided, rebuilt = race([(decider, decide), (users["ds"], rebuild_card)])

    unexpected = [o for o in (decided, rebuilt) if not o.ok and not isinstance(o.error, Conflict)]
    assert not unexpected, [(o.user, repr(o.error)) for o in unexpected]
    assert rebuilt.ok
    request.refresh_from_db()
    version.refresh_from_db()
    # Whichever rebuild ran last (this one, or the one a decision queues), the stored card
    # is the card of the current facts, the edited description included.
    assert version.card_hash == card_hash(card_build(version=version))
    assert version.card_hash == version.card_revisions.order_by("-revision")[0].content_hash
    assert version.card_revisions.count() >= 2
    if action == "reject":
        assert decided.ok
        assert request.status == PromotionRequest.Status.REJECTED
        assert version.stage == ModelVersion.Stage.REJECTED
    elif decided.ok:  # executed first, on the card it was approved on
        assert request.status == PromotionRequest.Status.EXECUTED
        assert version.stage == ModelVersion.Stage.PRODUCTION
    else:  # the rebuild came first: the approval went stale
        assert "not approved" in str(decided.error)
        assert request.status == PromotionRequest.Status.PENDING
        assert version.stage == ModelVersion.Stage.CANDIDATE
        assert len(policy_evaluate(request).stale) == 1
    assert_audit_chain_intact()
