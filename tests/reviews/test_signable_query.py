"""The signing rule as a query (`reviews.duties.requests_signable`) answers as the rule
itself (`signoff_refusal`) does, for every person and every kind of request: the home
page counts and pages the queue in the database, so the two must never disagree."""

from __future__ import annotations

import pytest
from django.test import Client

from models_registry.models import ModelVersion
from reviews.duties import requests_signable, signoff_refusal
from reviews.models import PromotionRequest
from reviews.selectors import request_list, requests_awaiting
from reviews.services import promotion_request_create, promotion_withdraw, signoff_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(users, make_model, make_version):
    """Requests each refused to somebody for a different reason, and some nobody is refused."""
    owner = make_user("olga", "data_scientist", "board")
    author = make_user("rita", "validator")
    author.email = "Rita.Author@example.com"
    author.save(update_fields=["email"])
    made = {}

    def request(name: str, *, model_owner=None, registrant=None, requester=None, run_user=None):
        model = make_model(name=name, actor=model_owner or users["ds"])
        version = make_version(model, actor=registrant or users["ds"])
        if run_user is not None:  # as the MLflow adapter records the run's `mlflow.user`
            ModelVersion.objects.filter(pk=version.pk).update(run_facts={"user": run_user})
        made[name] = promotion_request_create(
            actor=requester or users["ds"], version=version, justification="Better."
        )
        return made[name]

    request("plain")
    request("owned", model_owner=owner)
    request("registered", registrant=users["ds2"], requester=users["ci"])
    request("requested", requester=users["ds2"])
    request("run-by-name", run_user="  RITA ")
    request("run-by-email", run_user="rita.author@EXAMPLE.com")
    request("run-by-other", run_user="someone-else")
    signed = request("signed")
    signoff_create(actor=users["validator"], request_id=signed.pk, decision="approve")
    closed = request("closed")
    promotion_withdraw(actor=users["ds"], request_id=closed.pk, reason="Not now.")
    no_card = request("no-card")
    ModelVersion.objects.filter(pk=no_card.model_version_id).update(card_hash="")
    people = [*users.values(), owner, author]
    return people, made


def test_the_query_and_the_rule_agree_for_everyone(world):
    people, made = world
    every = request_list()
    assert len(made) == 10
    for person in people:
        by_rule = {r.pk for r in every if signoff_refusal(actor=person, request=r) is None}
        by_query = set(requests_signable(actor=person, requests=every).values_list("pk", flat=True))
        assert by_query == by_rule, person.username


def test_each_reason_keeps_the_request_out(world, users):
    people, _ = world
    owner, author = people[-2], people[-1]
    names = lambda person: set(  # noqa: E731
        requests_awaiting(user=person).values_list("model_version__model__name", flat=True)
    )
    assert "owned" not in names(owner) and "owned" in names(users["board"])
    assert "registered" not in names(users["ds2"])  # ds2 signs nothing: a data scientist
    assert {"run-by-name", "run-by-email"}.isdisjoint(names(author))
    assert "run-by-other" in names(author)
    assert "signed" not in names(users["validator"]) and "signed" in names(users["validator2"])
    assert {"closed", "no-card"}.isdisjoint(names(users["validator2"]))
    assert names(users["ci"]) == set() and names(users["outsider"]) == set()
    oldest_first = list(requests_awaiting(user=users["validator2"]))
    assert oldest_first == sorted(oldest_first, key=lambda r: (r.created_at, r.pk))


def test_the_home_page_pages_the_queue(client: Client, users, make_model, make_version):
    from reviews.views import QUEUE_PAGE_SIZE

    for index in range(QUEUE_PAGE_SIZE + 2):
        version = make_version(make_model(name=f"model-{index:02d}"))
        promotion_request_create(actor=users["ds"], version=version, justification="x")
    client.force_login(users["validator"])
    first = client.get("/").content.decode()
    assert f"Waiting for your sign-off ({QUEUE_PAGE_SIZE + 2})" in first
    last = f"model-{QUEUE_PAGE_SIZE - 1:02d} v1"
    assert "model-00 v1" in first and last in first and "model-26 v1" not in first
    assert f"page 1 of 2 ({QUEUE_PAGE_SIZE + 2} requests waiting for you)" in first
    second = client.get("/?page=2").content.decode()
    assert "model-26 v1" in second and "model-00 v1" not in second
    assert client.get("/?page=99").status_code == 200  # the last page, as Django pages go


def test_the_requests_page_filters_and_pages(client: Client, users, make_model, make_version):
    opened = []
    for index in range(3):
        version = make_version(make_model(name=f"model-{index}"))
        opened.append(
            promotion_request_create(actor=users["ds"], version=version, justification="x")
        )
    promotion_withdraw(actor=users["ds"], request_id=opened[0].pk, reason="Not now.")
    client.force_login(users["board"])
    html = client.get("/requests/?open=true").content.decode()
    table = html.split('id="requests"')[1].split("</table>")[0]
    assert f"#{opened[1].pk}<" in table and f"#{opened[2].pk}<" in table
    assert f"#{opened[0].pk}<" not in table
    closed = client.get("/requests/?open=false").content.decode().split('id="requests"')[1]
    assert f"#{opened[0].pk}<" in closed.split("</table>")[0]
    bad = client.get("/requests/?status=lost")
    assert bad.status_code == 400 and "status:" in bad.content.decode()
    assert PromotionRequest.objects.count() == 3
    client.logout()
    assert client.get("/requests/").status_code == 302  # to the login page


def test_the_api_filters_open_requests(api, users, make_model, make_version):
    version = make_version(make_model(name="model-a"))
    kept = promotion_request_create(actor=users["ds"], version=version, justification="x")
    version = make_version(make_model(name="model-b"))
    gone = promotion_request_create(actor=users["ds"], version=version, justification="x")
    promotion_withdraw(actor=users["ds"], request_id=gone.pk, reason="Not now.")
    found = api("validator").get("/api/v1/promotion-requests/?open=true").json()
    ids = [row["id"] for row in found.get("results", found)]
    assert ids == [kept.pk]
    found = api("validator").get("/api/v1/promotion-requests/?open=false").json()
    assert [row["id"] for row in found.get("results", found)] == [gone.pk]
    assert api("validator").get("/api/v1/promotion-requests/?open=maybe").status_code == 400
