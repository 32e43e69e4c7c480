"""Signed checkpoints and the verification reports: commands, keys, the note format."""

from __future__ import annotations

import base64
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from governance.audit.checkpoints import audit_checkpoint_create, signing_key_generate
from governance.models import AuditCheckpoint, AuditEvent, AuditVerification
from governance.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(settings: Any) -> None:
    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests")
    for n in range(3):
        audit_record(action="test.entry", object_type="thing", object_id=n)


def test_the_command_signs_the_head_as_a_c2sp_checkpoint_note(chain):
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    checkpoint = AuditCheckpoint.objects.get()
    head = AuditEvent.objects.get(sequence=3)
    origin, size, root, timestamp, blank, signature = out.getvalue().strip("\n").split("\n")
    assert (origin, size, blank) == ("model-governance/audit", "3", "")
    assert base64.b64decode(root).hex() == head.hash == checkpoint.root_hash
    assert timestamp.startswith("timestamp ")
    assert signature.startswith("\u2014 tests ")
    assert len(base64.b64decode(signature.split(" ")[2])) == 4 + 64  # key id + Ed25519


def test_an_empty_chain_has_nothing_to_sign(db, settings):
    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests")
    assert audit_checkpoint_create() is None


def test_the_embedded_mode_generates_a_development_key_with_a_warning(
    db, settings, tmp_path, caplog
):
    settings.AUDIT_SIGNING_KEY, settings.VAR_DIR = "", tmp_path
    audit_record(action="test.entry", object_type="thing", object_id=1)
    assert audit_checkpoint_create().key_name == "model-governance-dev"
    assert (tmp_path / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    assert "development key" in caplog.text


def test_production_refuses_to_sign_without_a_key(db, settings):
    settings.AUDIT_SIGNING_KEY, settings.PRODUCTION = "", True
    audit_record(action="test.entry", object_type="thing", object_id=1)
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY"):
        audit_checkpoint_create()


def test_a_malformed_key_is_refused_loudly(db, settings):
    settings.AUDIT_SIGNING_KEY = (
        "PRIVATE+KEY+tests+00000000+" + base64.b64encode(b"\x01" + b"k" * 32).decode()
    )
    audit_record(action="test.entry", object_type="thing", object_id=1)
    with pytest.raises(ImproperlyConfigured, match="key id"):
        audit_checkpoint_create()


def test_audit_verify_stores_a_report_and_exits_1_naming_the_first_bad_entry(chain):
    out = StringIO()
    call_command("audit_verify", "--full", stdout=out)
    assert "3 entries after #0 verified" in out.getvalue()
    AuditEvent.objects.filter(sequence=2).update(object_id="forged")
    with pytest.raises(CommandError, match="first bad entry #2"):
        call_command("audit_verify", "--full", stderr=StringIO())
    reports = list(AuditVerification.objects.order_by("id").values_list("ok", "first_bad"))
    assert reports == [(True, None), (False, 2)]


def test_verify_starts_from_the_latest_checkpoint(chain):
    audit_checkpoint_create()
    audit_record(action="test.later", object_type="thing", object_id=4)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    report = AuditVerification.objects.get()
    assert (report.from_sequence, report.to_sequence, report.checked) == (3, 4, 1)


@pytest.mark.django_db(transaction=True)
def test_the_admin_button_runs_the_verification_and_says_what_it_found(settings):
    """As in the embedded mode: the request commits, the task runs in-process, the message
    tells the outcome and the page is the stored report."""
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import make_user

    settings.AUDIT_SIGNING_KEY = signing_key_generate("tests")
    officer = make_user("carla", "compliance")
    for n in range(3):
        audit_record(action="test.entry", object_type="thing", object_id=n)
    client = Client()
    client.force_login(officer)
    page = client.post(reverse("admin:governance_auditevent_verify"), follow=True)
    assert "The audit chain is intact: 3 entr(ies) after #0 verified, up to #3." in (
        page.content.decode()
    )
    AuditEvent.objects.filter(sequence=2).update(object_id="forged")
    page = client.post(reverse("admin:governance_auditevent_verify"), {"full": "1"}, follow=True)
    text = page.content.decode()
    assert "The audit chain is broken: the first bad entry is #2." in text
    assert AuditVerification.objects.filter(ok=False, first_bad=2).exists()
