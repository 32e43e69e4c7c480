"""Revalidation by risk: intervals by tier and materiality, the due date a validation sets,
the policy compliance officers edit with a reason, and who may record a validation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from governance.audit_context import Origin, acting_as
from governance.errors import InvalidInput, NotAllowed
from governance.models import AuditEvent
from reviews.finding_models import Finding
from reviews.revalidation_models import ModelMateriality, RevalidationPolicy, Validation
from reviews.revalidation_schedule import add_months, stricter_level
from reviews.revalidation_selectors import (
    revalidation_intervals,
    revalidation_state,
    revalidation_states,
    revalidations_due,
)
from reviews.revalidation_services import (
    materiality_set,
    revalidation_policy_save,
    validation_record,
)
from tests.conftest import make_user
from tests.reviews.review_board_data import days_ago, registered_on, validate

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate()


# --- the rule -----------------------------------------------------------------------


def test_months_are_calendar_months_and_the_31st_falls_on_the_last_day():
    assert add_months(date(2026, 1, 15), 6) == date(2026, 7, 15)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 24) == date(2028, 11, 30)


def test_the_stricter_level_wins():
    assert stricter_level("low", "high") == "high"
    assert stricter_level("medium", "low") == "medium"


def test_the_defaults_are_six_twelve_and_twenty_four_months():
    assert revalidation_intervals() == {"high": 6, "medium": 12, "low": 24}
    assert RevalidationPolicy.objects.count() == 3  # seeded, so the admin lists them


@pytest.mark.parametrize(("tier", "months"), [("high", 6), ("medium", 12), ("low", 24)])
def test_a_never_validated_model_is_due_its_interval_after_registration(make_model, tier, months):
    model = registered_on(make_model(risk_tier=tier), date(2026, 3, 10))

    state = revalidation_state(model=model, as_of=date(2026, 4, 1))

    assert state.last_validated_on is None
    assert state.registered_on == date(2026, 3, 10)
    assert state.interval_months == months
    assert state.due_date == add_months(date(2026, 3, 10), months)
    assert state.status == "current"


def test_a_passing_validation_restarts_the_clock_a_failed_one_does_not(make_model, users):
    model = registered_on(make_model(risk_tier="high"), days_ago(400))
    validate(model, users["validator"], on=days_ago(300))
    validate(model, users["validator"], outcome="failed", on=days_ago(10))

    state = revalidation_state(model=model, as_of=today())

    assert state.last_validated_on == days_ago(300)
    assert state.due_date == add_months(days_ago(300), 6)
    assert state.status == "overdue"
    assert state.days_overdue == (today() - state.due_date).days > 0
    assert state.last_outcome == "failed" and state.last_failed

    validate(model, users["validator2"], outcome="passed_with_findings", on=days_ago(5))
    state = revalidation_state(model=model, as_of=today())
    assert state.last_validated_on == days_ago(5)
    assert state.status == "current" and state.days_overdue == 0


def test_materiality_above_the_tier_shortens_the_interval_below_it_changes_nothing(
    make_model, users
):
    low = registered_on(make_model("low-model", risk_tier="low"), date(2026, 1, 1))
    high = registered_on(make_model("high-model", risk_tier="high"), date(2026, 1, 1))
    materiality_set(actor=users["compliance"], model=low, materiality="high", reason="Credit.")
    materiality_set(actor=users["compliance"], model=high, materiality="low", reason="Pilot.")

    low_state = revalidation_state(model=low, as_of=date(2026, 2, 1))
    high_state = revalidation_state(model=high, as_of=date(2026, 2, 1))

    assert (low_state.materiality, low_state.risk_level, low_state.interval_months) == (
        "high",
        "high",
        6,
    )
    assert (high_state.materiality, high_state.risk_level, high_state.interval_months) == (
        "low",
        "high",
        6,
    )


def test_without_a_recorded_materiality_it_is_the_tier(make_model):
    state = revalidation_state(model=make_model(risk_tier="medium"), as_of=today())
    assert (state.materiality, state.risk_level, state.interval_months) == ("medium", "medium", 12)


def test_due_and_overdue_models_most_overdue_first(make_model, users):
    registered_on(make_model("late", risk_tier="high"), days_ago(250))
    registered_on(make_model("later", risk_tier="high"), days_ago(300))
    registered_on(make_model("soon", risk_tier="high"), days_ago(170))
    registered_on(make_model("fine", risk_tier="low"), days_ago(10))

    everything = revalidations_due(as_of=today())
    overdue = revalidations_due(as_of=today(), status="overdue")
    due = revalidations_due(as_of=today(), status="due")
    narrow = revalidations_due(as_of=today(), within_days=0)

    assert [s.model.name for s in everything] == ["later", "late", "soon"]
    assert [s.model.name for s in overdue] == ["later", "late"]
    assert [s.model.name for s in due] == ["soon"]
    assert due[0].days_overdue == 0 and 0 <= due[0].days_until_due <= 30
    assert [s.model.name for s in narrow] == ["later", "late"]
    assert overdue[1].days_overdue == (today() - add_months(days_ago(250), 6)).days


def test_revalidations_due_refuses_a_bad_status_or_window(make_model):
    make_model()
    with pytest.raises(InvalidInput):
        revalidations_due(as_of=today(), status="current")
    with pytest.raises(InvalidInput):
        revalidations_due(as_of=today(), within_days=-1)


def test_a_moment_counts_as_its_local_day(make_model):
    model = registered_on(make_model(risk_tier="high"), days_ago(200))
    assert revalidation_state(model=model, as_of=timezone.now()).status == "overdue"


# --- the policy table ---------------------------------------------------------------


def test_compliance_changes_an_interval_with_a_reason_kept_in_history(make_model, users):
    model = registered_on(make_model(risk_tier="medium"), date(2026, 1, 1))

    with acting_as(origin=Origin.ADMIN, user=users["compliance"]):
        policy, changed = revalidation_policy_save(
            actor=users["compliance"],
            risk_level="medium",
            interval_months=9,
            reason="Board decision 2026-11: medium-tier models drift faster than planned.",
        )

    assert changed and policy.interval_months == 9
    assert revalidation_state(model=model, as_of=date(2026, 2, 1)).due_date == date(2026, 10, 1)
    latest = policy.history.order_by("history_id").last()
    assert latest.reason.startswith("Board decision 2026-11")
    assert latest.history_change_reason.startswith("12 -> 9 months: Board decision")
    assert (latest.history_user, latest.history_origin) == (users["compliance"], "admin")
    event = AuditEvent.objects.get(action="revalidation_policy.edited")
    assert event.data["interval_months"] == {"old": 12, "new": 9}
    assert event.actor == users["compliance"]


def test_the_same_interval_again_records_nothing(users):
    before = RevalidationPolicy.history.count()
    _, changed = revalidation_policy_save(
        actor=users["compliance"], risk_level="high", interval_months=6, reason="again"
    )
    assert not changed and RevalidationPolicy.history.count() == before
    assert not AuditEvent.objects.filter(action="revalidation_policy.edited").exists()


@pytest.mark.parametrize("who", ["validator", "board", "ds", "ci"])
def test_only_compliance_edits_intervals(users, who):
    with pytest.raises(NotAllowed):
        revalidation_policy_save(
            actor=users[who], risk_level="high", interval_months=3, reason="faster"
        )
    assert RevalidationPolicy.objects.get(risk_level="high").interval_months == 6


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"risk_level": "extreme"}, "risk_level"),
        ({"interval_months": 0}, "interval_months"),
        ({"interval_months": 121}, "interval_months"),
        ({"interval_months": True}, "interval_months"),
        ({"reason": "   "}, "reason"),
    ],
)
def test_a_bad_policy_change_is_refused_and_stores_nothing(users, fields, named):
    given = {"risk_level": "high", "interval_months": 3, "reason": "faster", **fields}
    with pytest.raises(InvalidInput) as refused:
        revalidation_policy_save(actor=users["compliance"], **given)
    assert named in refused.value.extra
    assert RevalidationPolicy.objects.get(risk_level="high").interval_months == 6


def test_materiality_needs_compliance_and_a_reason(make_model, users):
    model = make_model()
    with pytest.raises(NotAllowed):
        materiality_set(actor=users["validator"], model=model, materiality="high", reason="x")
    with pytest.raises(InvalidInput):
        materiality_set(actor=users["compliance"], model=model, materiality="high", reason="")
    with pytest.raises(InvalidInput):
        materiality_set(actor=users["compliance"], model=model, materiality="huge", reason="x")
    assert not ModelMateriality.objects.exists()

    row, changed = materiality_set(
        actor=users["compliance"], model=model, materiality="high", reason="Drives credit limits."
    )
    assert changed and row.history.get().history_change_reason.startswith("as tier -> high")
    event = AuditEvent.objects.get(action="model.materiality_set")
    assert event.data == {
        "materiality": {"old": None, "new": "high"},
        "reason": "Drives credit limits.",
    }


# --- recording a validation ---------------------------------------------------------


@pytest.mark.parametrize("who", ["validator", "compliance"])
def test_validators_and_compliance_record_validations(make_model, make_version, users, who):
    model = make_model()
    make_version(model)

    validation = validate(
        model, users[who], version=1, evidence="Report v3", links=["https://wiki.example.org/v3"]
    )

    assert validation.version.version == 1 and validation.validated_on == today()
    assert validation.validated_by == users[who]
    assert validation.history.get().history_change_reason == "recorded (passed)"
    event = AuditEvent.objects.get(action="validation.recorded")
    assert event.data["model"] == model.name and event.data["outcome"] == "passed"


@pytest.mark.parametrize("who", ["ds", "board", "ci", "outsider"])
def test_other_roles_may_not_record_validations(make_model, users, who):
    model = make_model()
    with pytest.raises(NotAllowed):
        validate(model, users[who])
    assert not Validation.objects.exists()


def test_a_validation_is_independent_of_the_models_development(make_model, make_version):
    both = make_user("dual", "data_scientist", "validator")
    owned = make_model("owned", actor=both)
    registered = make_model("registered")
    make_version(registered, actor=both)

    with pytest.raises(NotAllowed, match="You own model owned"):
        validate(owned, both)
    with pytest.raises(NotAllowed, match="You registered registered v1"):
        validate(registered, both, version=1)
    assert not Validation.objects.exists()
    assert validate(registered, both)  # the model as a whole: not their work


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"outcome": "great"}, "outcome"),
        ({"scope": "  "}, "scope"),
        ({"version": 7}, "version"),
        ({"on": date.today() + timedelta(days=2)}, "validated_on"),
        ({"on": date(2000, 1, 1)}, "validated_on"),
        ({"links": ["javascript:alert(1)"]}, "links"),
        ({"links": "https://example.org"}, "links"),
        ({"outcome": "passed", "findings": [{"title": "t"}]}, "findings"),
        (
            {"outcome": "failed", "findings": [{"title": "t", "description": "d", "size": 1}]},
            "findings",
        ),
    ],
)
def test_a_bad_validation_is_refused_and_stores_nothing(make_model, users, fields, named):
    model = make_model()
    with pytest.raises(InvalidInput) as refused:
        validate(model, users["validator"], **fields)
    assert named in refused.value.extra
    assert not Validation.objects.exists()
    assert not AuditEvent.objects.filter(action="validation.recorded").exists()


def test_a_validation_with_findings_raises_them_on_its_version(make_model, make_version, users):
    model = make_model()
    make_version(model)

    validation = validate(
        model,
        users["validator"],
        outcome="passed_with_findings",
        version=1,
        findings=[
            {"title": "No monitoring of income drift", "description": "d", "severity": "medium"},
            {"title": "Unfair to young", "description": "d", "severity": "high"},
        ],
    )

    findings = list(Finding.objects.order_by("id"))
    assert [f.validation_id for f in findings] == [validation.pk, validation.pk]
    assert {f.version.version for f in findings} == {1}
    assert {f.owner for f in findings} == {users["ds"]}  # the model's owner
    assert AuditEvent.objects.get(action="validation.recorded").data["findings"] == [
        f.pk for f in findings
    ]


def test_one_bad_finding_stores_neither_the_validation_nor_the_others(make_model, users):
    model = make_model()
    with pytest.raises(InvalidInput) as refused:
        validation_record(
            actor=users["validator"],
            model=model,
            scope="Full revalidation",
            outcome="failed",
            findings=[
                {"title": "fine", "description": "d", "severity": "low"},
                {"title": "bad", "description": "d", "severity": "apocalyptic"},
            ],
        )
    assert refused.value.extra["findings"][0].startswith("Item 1:")
    assert not Validation.objects.exists() and not Finding.objects.exists()


def test_due_and_overdue_agree_with_every_models_state_on_any_day(users, make_model):
    """`revalidations_due` reads only the models that could be due (a date bound in SQL);
    on every day around the due dates it answers as the rule over every model does."""
    for index, (tier, registered, validated) in enumerate(
        [
            ("high", 400, None),
            ("high", 200, 179),
            ("medium", 370, 340),
            ("low", 800, 700),
            ("low", 10, None),
            ("medium", 366, None),
        ]
    ):
        model = registered_on(make_model(name=f"m-{index}", risk_tier=tier), days_ago(registered))
        if validated is not None:
            validate(model, users["validator"], on=days_ago(validated))
    for offset in range(-400, 400, 13):
        day = days_ago(0) + timedelta(days=offset)
        every = revalidation_states(as_of=day, within_days=30)
        for status, wanted in ((None, {"due", "overdue"}), ("overdue", {"overdue"})):
            expected = [s.model.name for s in every if s.status in wanted]
            found = revalidations_due(as_of=day, within_days=30, status=status)
            assert [s.model.name for s in found] == expected, (day, status)
