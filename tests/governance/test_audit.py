"""The tamper-evident audit chain: governance actions append events; tampering is named."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from governance.audit.chain import audit_sequence
from governance.audit_context import Origin, acting_as
from governance.models import AuditEvent
from governance.services import audit_chain_verify, audit_record
from models_registry import services as registry
from models_registry.cards import card_regenerate


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def ready(version: Any) -> Any:
    card_regenerate(version_id=version.pk)
    version.refresh_from_db()
    return version


@pytest.fixture
def promoted_twice(users, make_model, make_version) -> Any:
    model = make_model()
    registry.deployment_promote(version=make_version(model), actor=users["ds"])
    registry.deployment_promote(version=make_version(model), actor=users["ds"])
    return model


def test_an_appended_event_waits_for_the_sequencer_then_starts_the_chain_from_zeros(db):
    event = audit_record(action="test.first", object_type="thing", object_id=1)
    assert event.sequence is None and len(event.entry_hash) == 64
    assert audit_sequence() == 1
    event.refresh_from_db()
    assert event.sequence == 1
    assert event.previous_hash == "0" * 64
    assert len(event.hash) == 64


def test_each_event_links_to_the_previous_ones_hash(db):
    first = audit_record(action="test.a", object_type="thing", object_id=1)
    second = audit_record(action="test.b", object_type="thing", object_id=2, data={"k": 1})
    audit_sequence()
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.sequence == first.sequence + 1
    assert second.previous_hash == first.hash
    assert second.hash != first.hash


def test_a_committed_event_is_sequenced_right_after_its_commit(
    db, django_capture_on_commit_callbacks, settings
):
    settings.AUDIT_SEQUENCE_NUDGE_SECONDS = 0  # else an earlier test's nudge may be too recent
    with django_capture_on_commit_callbacks(execute=True):
        event = audit_record(action="test.now", object_type="thing", object_id=1)
    event.refresh_from_db()
    assert event.sequence == 1


def test_commits_in_a_burst_share_one_sequencer_run(
    db, django_capture_on_commit_callbacks, settings, monkeypatch
):
    from governance.audit import chain

    settings.AUDIT_SEQUENCE_NUDGE_SECONDS = 60
    monkeypatch.setattr(chain, "_last_nudge", [0.0])  # no nudge yet in this process
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(action="test.first", object_type="thing", object_id=1)
    with django_capture_on_commit_callbacks(execute=True):
        second = audit_record(action="test.second", object_type="thing", object_id=2)
    second.refresh_from_db()
    assert second.sequence is None  # left to the beat's run (AUDIT_SEQUENCE_SECONDS)
    assert audit_sequence() == 1


def test_a_rolled_back_append_leaves_no_gap_in_the_chain(db):
    audit_record(action="test.a", object_type="thing", object_id=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="test.lost", object_type="thing", object_id=2)
        raise RuntimeError("the caller's work failed")
    audit_record(action="test.c", object_type="thing", object_id=3)
    audit_sequence()
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", "action")) == [
        (1, "test.a"),
        (2, "test.c"),
    ]
    assert audit_chain_verify() == []


def test_registering_a_model_and_a_version_through_the_api_is_audited(api):
    api("ds").post("/api/v1/models/", {"name": "fraud", "risk_tier": "high"}, format="json")
    api("ds").post("/api/v1/models/fraud/versions/", {"git_commit": "abc1234"}, format="json")
    model_event = AuditEvent.objects.get(action="model.registered")
    version_event = AuditEvent.objects.get(action="version.registered")
    assert (model_event.object_type, model_event.object_id) == ("model", "fraud")
    assert model_event.data == {"risk_tier": "high"}
    assert version_event.object_id == "fraud:1"
    assert version_event.data["git_commit"] == "abc1234"
    assert model_event.actor_username == version_event.actor_username == "dana"
    assert model_event.origin == Origin.API


def test_a_refused_registration_leaves_no_audit_event(api):
    api("validator").post("/api/v1/models/", {"name": "fraud", "risk_tier": "low"}, format="json")
    assert not AuditEvent.objects.filter(action="model.registered").exists()


def test_sign_off_and_execution_are_audited_with_who_did_them(api, users, make_model, make_version):
    ready(make_version(make_model()))
    created = api("ci").post(
        "/api/v1/models/churn-classifier/versions/1/promotion-requests/",
        {"justification": "better", "strategy": "direct"},
        format="json",
    )
    request_id = created.json()["id"]
    signed = api("board").post(
        f"/api/v1/promotion-requests/{request_id}/sign-offs/",
        {"decision": "approve"},
        format="json",
    )
    assert signed.status_code == 201
    assert api("ci").post(f"/api/v1/promotion-requests/{request_id}/execute/").status_code == 200

    signed = AuditEvent.objects.get(action="promotion_request.signed.approve")
    assert signed.actor_username == "bella"
    assert signed.object_id == str(request_id)
    assert signed.data["signer"] == "bella"
    promoted = AuditEvent.objects.get(action="deployment.promoted")
    assert promoted.actor_username == "ci-bot"
    assert promoted.data["version"] == 1
    executed = AuditEvent.objects.get(action="promotion_request.executed")
    assert executed.actor_username == "ci-bot"
    order = actions()
    assert order.index("promotion_request.signed.approve") < order.index("deployment.promoted")


def test_a_rollback_is_audited_with_its_reason(api, promoted_twice):
    api("compliance").post(
        "/api/v1/models/churn-classifier/rollback/", {"reason": "drift alarm"}, format="json"
    )
    event = AuditEvent.objects.get(action="deployment.rolled_back")
    assert event.actor_username == "carla"
    assert event.data == {
        "version": 1,
        "previous_version": 2,
        "reason": "drift alarm",
        "reference": "rollback",
    }


def test_actions_append_and_never_rewrite_earlier_events(api, promoted_twice):
    audit_sequence()
    before = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "hash"))
    api("ds").post("/api/v1/models/churn-classifier/rollback/", {"reason": "x"}, format="json")
    audit_sequence()
    after = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "hash"))
    assert after[: len(before)] == before
    assert len(after) > len(before)
    assert [seq for seq, _ in after] == list(range(1, len(after) + 1))


def test_the_chain_verifies_when_nobody_tampered(api, promoted_twice):
    api("ds").post("/api/v1/models/churn-classifier/rollback/", {"reason": "x"}, format="json")
    assert AuditEvent.objects.count() >= 5
    assert audit_chain_verify() == []


def test_an_empty_chain_verifies(db):
    assert audit_chain_verify() == []


@pytest.fixture
def sequenced(promoted_twice) -> Any:
    audit_sequence()
    return promoted_twice


def test_tampering_with_an_events_data_names_its_sequence(sequenced):
    victim = AuditEvent.objects.get(action="model.registered")
    AuditEvent.objects.filter(pk=victim.pk).update(data={"risk_tier": "low", "forged": True})
    assert audit_chain_verify() == [victim.sequence]


def test_tampering_with_the_actor_names_its_sequence(sequenced):
    victim = AuditEvent.objects.filter(action="deployment.promoted").order_by("sequence").last()
    AuditEvent.objects.filter(pk=victim.pk).update(actor_username="mallory")
    assert audit_chain_verify() == [victim.sequence]


def test_rewriting_an_events_hash_names_it_not_the_next_one_that_still_links_to_it(sequenced):
    victim = AuditEvent.objects.order_by("sequence")[1]
    AuditEvent.objects.filter(pk=victim.pk).update(hash="f" * 64)
    assert audit_chain_verify() == [victim.sequence]


def test_deleting_an_event_names_the_missing_position(sequenced):
    victim = AuditEvent.objects.order_by("sequence")[1]
    AuditEvent.objects.filter(pk=victim.pk).delete()
    assert audit_chain_verify()[0] == victim.sequence


def test_cutting_off_the_newest_events_shows_against_the_sequencers_head(sequenced):
    last = AuditEvent.objects.order_by("sequence").last()
    AuditEvent.objects.filter(pk=last.pk).delete()
    assert audit_chain_verify() == [last.sequence]


def test_an_event_records_the_context_user_when_no_actor_is_given(users):
    with acting_as(origin=Origin.COMMAND, user=users["compliance"]):
        event = audit_record(action="test.ctx", object_type="thing", object_id="x")
    assert event.actor_username == "carla"
    assert event.origin == Origin.COMMAND
