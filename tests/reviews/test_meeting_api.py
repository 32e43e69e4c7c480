"""The meetings API: a meeting walked from agenda to an approving decision, and refusals."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from reviews.models import Board, Decision, Meeting, SignOff
from tests.conftest import assert_json_error

pytestmark = pytest.mark.django_db


def test_a_meeting_from_agenda_to_an_approving_decision(api, board_world):
    world = board_world
    chair = api("board")
    url = f"/api/v1/meetings/{world.meeting.pk}/"

    prepared = chair.post(url + "prepare/", {}, format="json")
    assert prepared.status_code == 200, prepared.content
    item = prepared.json()["items"][0]
    assert item["source"] == "promotion_request" and item["request"] == world.request.pk

    assert chair.post(url + "start/", {}, format="json").json()["status"] == "in_progress"
    for who in ("bella", "bruno", "rita"):
        response = chair.post(url + "attendance/", {"user": who, "present": True}, format="json")
        assert response.status_code == 200, response.content
    decided = chair.post(
        url + "decisions/",
        {"kind": "approve", "text": "Approved.", "item": item["id"]},
        format="json",
    )

    assert decided.status_code == 201, decided.content
    body = decided.json()
    assert [s["username"] for s in body["signed"]] == ["bella", "bruno"]
    assert body["refused"][0]["username"] == "rita" and body["request_status"] == "approved"
    assert body["model"] == "churn-classifier" and body["version"] == 1
    assert api("ci").get(f"/api/v1/promotion-requests/{world.request.pk}/").json()["status"] == (
        "approved"
    )
    markdown = chair.get(url + "minutes.md/")
    assert markdown["Content-Type"].startswith("text/markdown")
    assert "Signed approve: bella" in markdown.content.decode()
    pdf = chair.get(url + "minutes.pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Could not sign: rita" in " ".join(text.split())
    assert chair.post(url + "close/", {}, format="json").json()["status"] == "closed"
    assert Meeting.objects.filter(board=world.board, status="scheduled").count() == 1


def test_boards_and_meetings_are_created_by_those_who_run_meetings(api, users):
    denied = api("ci").post("/api/v1/boards/", {"name": "B"}, format="json")
    assert_json_error(denied, 403)
    created = api("compliance").post(
        "/api/v1/boards/", {"name": "Risk", "quorum": 3}, format="json"
    )
    assert created.status_code == 201 and created.json()["quorum"] == 3
    board_id = created.json()["id"]
    seat = api("compliance").post(
        f"/api/v1/boards/{board_id}/members/", {"user": "bella", "role": "chair"}, format="json"
    )
    assert seat.json()["members"] == [
        {"user": "bella", "role": "chair", "voting": True, "active": True}
    ]
    meeting = api("board").post(
        "/api/v1/meetings/",
        {"board": board_id, "scheduled_for": "2027-03-01T10:00:00Z"},
        format="json",
    )
    assert meeting.status_code == 201 and meeting.json()["title"] == "Risk 2027-03-01"
    listed = api("ci").get(f"/api/v1/meetings/?board={board_id}").json()
    assert [m["id"] for m in listed["results"]] == [meeting.json()["id"]]


def test_bad_input_is_refused_and_stores_nothing(api, board_world):
    world = board_world
    chair = api("board")
    url = f"/api/v1/meetings/{world.meeting.pk}/"
    assert_json_error(
        chair.post("/api/v1/boards/", {"name": "X", "cadence": 3}, format="json"), 400
    )
    assert_json_error(
        chair.post(
            "/api/v1/meetings/",
            {"board": 999, "scheduled_for": "2027-01-01T00:00:00Z"},
            format="json",
        ),
        400,
    )
    assert_json_error(
        chair.post(url + "items/", {"title": "x", "model": "nope"}, format="json"), 400
    )
    assert_json_error(api("ci").get("/api/v1/meetings/?board=abc"), 400)
    assert Board.objects.count() == 1 and Meeting.objects.count() == 1
    assert not world.meeting.items.exists()


def test_the_frozen_agenda_and_quorum_answer_409(api, board_world):
    world = board_world
    chair = api("board")
    url = f"/api/v1/meetings/{world.meeting.pk}/"
    chair.post(url + "prepare/", {}, format="json")
    chair.post(url + "start/", {}, format="json")

    late = api("board2").post(url + "items/", {"title": "Late"}, format="json")
    assert_json_error(late, 409)
    assert_json_error(chair.post(url + "prepare/", {}, format="json"), 409)
    no_quorum = chair.post(
        url + "decisions/",
        {"kind": "approve", "text": "Go.", "request": world.request.pk},
        format="json",
    )
    assert "No quorum" in assert_json_error(no_quorum, 409)["detail"]
    assert not Decision.objects.exists() and not SignOff.objects.exists()


def test_an_outsider_to_the_board_adds_no_item_and_the_owner_closes_an_action_item(
    api, board_world
):
    world = board_world
    url = f"/api/v1/meetings/{world.meeting.pk}/"
    assert_json_error(api("validator").post(url + "items/", {"title": "Mine"}, format="json"), 403)
    added = api("board2").post(
        url + "items/", {"title": "Fairness", "model": "churn-classifier"}, format="json"
    )
    assert added.status_code == 201 and added.json()["added_by"] == "bruno"
    chair = api("board")
    chair.post(url + "prepare/", {}, format="json")
    chair.post(url + "start/", {}, format="json")
    for who in ("bella", "bruno"):
        chair.post(url + "attendance/", {"user": who, "present": True}, format="json")
    action = chair.post(
        url + "decisions/",
        {
            "kind": "action_item",
            "text": "Rerun fairness.",
            "owner": "dana",
            "due_date": "2027-01-15",
        },
        format="json",
    ).json()
    assert action["status"] == "open" and action["owner"] == "dana"
    assert_json_error(
        api("ds2").post(f"/api/v1/action-items/{action['id']}/done/", {}, format="json"), 403
    )
    done = api("ds").post(
        f"/api/v1/action-items/{action['id']}/done/", {"note": "ok"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
