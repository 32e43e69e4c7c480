"""Browser pages for reviewers: the sign-off queue and the request page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from governance.errors import ApplicationError
from governance.pages import page_requires
from governance.paging import page_of
from governance.roles import Capability
from models_registry.comparison import version_compare
from models_registry.selectors import card_latest
from reviews import home, selectors, services
from reviews.duties import signoff_refusal
from reviews.filters import PromotionRequestFilter
from reviews.finding_selectors import findings_open
from reviews.forms import RequestAgainForm, SignOffForm, WithdrawForm
from reviews.models import PromotionRequest
from reviews.policy import PolicyContext, policy_context, policy_evaluate

QUEUE_PAGE_SIZE = 25  # sign-offs waiting for me, per page of the home page
LIST_PAGE_SIZE = 25  # requests per page of /requests/


@page_requires(Capability.READ)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Home: what waits for me (sign-offs, my requests, action items, incidents and findings
    I own), models at risk, recent deployments, and what else is open; each open request
    with its progress ("1 of 2, needs a validator") and how long it has waited.

    The sign-offs waiting for me come a page at a time (`?page=`); the other lists show
    their first few with their total and a link to the full list (/requests/)."""
    user = request.user
    awaiting = selectors.requests_awaiting(user=user)
    page = page_of(awaiting, request.GET.get("page"), QUEUE_PAGE_SIZE)
    signable = [r for r in page.object_list if signoff_refusal(actor=user, request=r) is None]
    open_requests = selectors.request_list().filter(status__in=PromotionRequest.OPEN_STATUSES)
    mine = open_requests.filter(requested_by=user).order_by("created_at", "id")
    other_open = (
        open_requests.exclude(requested_by=user)
        .exclude(pk__in=awaiting.values("pk"))
        .order_by("created_at", "id")
    )
    mine_shown, other_shown = list(mine[: home.SHOWN]), list(other_open[: home.SHOWN])
    context = policy_context([*signable, *mine_shown, *other_shown])
    recent = (  # every closed request has its decided_at (executed, rejected, withdrawn)
        selectors.request_list()
        .exclude(status__in=PromotionRequest.OPEN_STATUSES)
        .filter(decided_at__isnull=False)
    )
    return render(
        request,
        "reviews/queue.html",
        {
            "page": page,
            "awaiting": _with_progress(signable, context),
            "mine": _with_progress(mine_shown, context),
            "mine_count": mine.count() if len(mine_shown) == home.SHOWN else len(mine_shown),
            "other_open": _with_progress(other_shown, context),
            "other_count": (
                other_open.count() if len(other_shown) == home.SHOWN else len(other_shown)
            ),
            "recent": list(recent.order_by("-decided_at", "-id")[: home.SHOWN]),
            "action_items": list(home.action_items_of(user)[: home.SHOWN]),
            "my_incidents": list(home.incidents_of(user)[: home.SHOWN]),
            "my_findings": list(findings_open().filter(owner=user)[: home.SHOWN]),
            "at_risk": home.models_at_risk(today=timezone.localdate()),
            "deployments": list(home.recent_deployments()[: home.SHOWN]),
            "today": timezone.localdate(),
        },
    )


@page_requires(Capability.READ)
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    """Every promotion request, newest first, filtered as the API filters them
    (`?open=true`, `?status=`, `?model=`, `?requested_by=`), a page at a time."""
    given = {name: value for name, value in request.GET.items() if value != "" and name != "page"}
    found = PromotionRequestFilter(given, queryset=selectors.request_list())
    rows = found.qs.order_by("-created_at", "-id") if found.is_valid() else found.queryset.none()
    page = page_of(rows, request.GET.get("page"), LIST_PAGE_SIZE)
    shown = list(page.object_list)
    return render(
        request,
        "reviews/request_list.html",
        {
            "filter": found,
            "page": page,
            "requests": _with_progress(shown, policy_context(shown)),
            "statuses": PromotionRequest.Status.choices,
        },
        status=200 if found.is_valid() else 400,
    )


def _with_progress(
    requests: list[PromotionRequest], context: PolicyContext
) -> list[tuple[PromotionRequest, Any]]:
    return [(r, policy_evaluate(r, r.sign_offs.all(), context)) for r in requests]


@page_requires(Capability.READ)
@require_GET
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    return _request_page(request, request_id)


def _request_page(
    request: HttpRequest,
    request_id: int,
    *,
    form: SignOffForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    again_form: RequestAgainForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The request page; a form that failed comes back bound, with its errors and input."""
    promotion_request = selectors.request_get(request_id=request_id)
    version = promotion_request.model_version
    sign_offs = list(promotion_request.sign_offs.all())
    outcome = policy_evaluate(promotion_request, sign_offs)
    revisions = {r.content_hash: r for r in version.card_revisions.order_by("revision")}
    latest = card_latest(version=version)
    # A closed request shows the card it was decided on; an open one the card to sign now.
    shown = latest
    if not promotion_request.is_open and promotion_request.decided_card_hash:
        shown = revisions.get(promotion_request.decided_card_hash, latest)
    refusal = services.signoff_refusal(actor=request.user, request=promotion_request)
    is_approved = promotion_request.status == PromotionRequest.Status.APPROVED
    return render(
        request,
        "reviews/request_detail.html",
        {
            "req": promotion_request,
            "version": version,
            "card": shown,
            "sign_offs": [(s, s in outcome.stale, revisions.get(s.card_hash)) for s in sign_offs],
            "latest_revision": latest,
            "outcome": outcome,
            "can_sign": refusal is None,
            "refusal": refusal,
            "form": form or SignOffForm(),
            "can_execute": is_approved
            and services.execute_refusal(actor=request.user, request=promotion_request) is None,
            "can_withdraw": promotion_request.is_open
            and promotion_request.requested_by_id == request.user.pk,
            "comparison": version_compare(version),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "again_form": again_form or RequestAgainForm(),
        },
        status=status,
    )


@page_requires(Capability.SIGN_OFF)
@require_POST
def request_sign_off(request: HttpRequest, request_id: int) -> HttpResponse:
    form = SignOffForm(request.POST)
    if not form.is_valid():
        return _request_page(request, request_id, form=form, status=400)
    try:
        services.signoff_create(
            actor=request.user,
            request_id=request_id,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        verb = "approved" if form.cleaned_data["decision"] == "approve" else "rejected"
        messages.success(request, f"You {verb} request #{request_id}.")
    return redirect("reviews:request", request_id=request_id)


@page_requires(Capability.EXECUTE_PROMOTION)
@require_POST
def request_execute(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        done = services.promotion_execute(actor=request.user, request_id=request_id)
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        version = done.model_version
        where = (
            f"on canary at {done.canary_traffic}% (production once it passes its gates)"
            if done.strategy == PromotionRequest.Strategy.CANARY
            else "in production"
        )
        messages.success(request, f"Executed: {version.model.name} v{version.version} is {where}.")
    return redirect("reviews:request", request_id=request_id)


@page_requires(Capability.REQUEST_PROMOTION)  # and the service: only the requester
@require_POST
def request_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _request_page(request, request_id, withdraw_form=form, status=400)
    try:
        services.promotion_withdraw(
            actor=request.user, request_id=request_id, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"You withdrew request #{request_id}.")
    return redirect("reviews:request", request_id=request_id)


@page_requires(Capability.REQUEST_PROMOTION)  # and the service: only the requester
@require_POST
def request_again(request: HttpRequest, request_id: int) -> HttpResponse:
    form = RequestAgainForm(request.POST)
    if not form.is_valid():
        return _request_page(request, request_id, again_form=form, status=400)
    try:
        new = services.promotion_request_again(
            actor=request.user, request_id=request_id, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
        return redirect("reviews:request", request_id=request_id)
    messages.success(
        request,
        f"You withdrew request #{request_id} and requested again: #{new.pk} is signed on the "
        "card as it is now.",
    )
    return redirect("reviews:request", request_id=new.pk)
