"""Separation of duties: who may sign off a promotion request, and who may execute it.

The complete rule, in one place (README "Roles and approval rules" and SECURITY.md
"Approvals and separation of duties" describe it; the API, the request page and the admin
sign-off page all ask here, so none offers a button the service would refuse):

Signing off (403 when refused):
- only validators, board members and compliance officers sign off, and a user holding
  `ci` never does, whatever other roles it holds (`governance.roles`);
- the requester does not sign their own request;
- the user who registered the version does not sign it;
- the model's owner (who registered the model) does not sign any of its versions;
- the author of the version's MLflow run (its `mlflow.user`, matched to a username or an
  e-mail address, ignoring case) does not sign it.
Then the request's state (409): it must be open, not yet signed by this user, and its
model card must exist.

Executing (403 when refused): the user needs the execute capability (data scientists,
CI) and must not have signed the request; the approvers and the executor are different
people, so no one both approves a release and carries it out.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower, Trim

from governance.errors import Conflict, NotAllowed
from governance.models import ApprovalPolicy
from governance.roles import Capability, Role, user_can, user_roles
from models_registry.models import ModelVersion
from reviews.models import PromotionRequest, SignOff

SIGNING_ROLES = ApprovalPolicy.SIGNING_ROLES  # the roles a policy may require


def is_run_author(user: Any, version: ModelVersion) -> bool:
    """Did `user` run the MLflow run that produced `version`?"""
    author = version.run_author.strip().casefold()
    if not author:
        return False
    names = {user.get_username().casefold(), (getattr(user, "email", "") or "").casefold()}
    return author in names - {""}


def _signing_forbidden(actor: Any, request: PromotionRequest) -> str | None:
    """Why separation of duties keeps `actor` from signing `request`, or None."""
    if not user_can(actor, Capability.SIGN_OFF):
        if Role.CI in user_roles(actor) and user_roles(actor) & set(SIGNING_ROLES):
            return "CI accounts never sign off, whatever other roles they hold."
        return "Only validators, board members and compliance officers sign off."
    version = request.model_version
    if actor.pk == request.requested_by_id:
        return "You requested this promotion; someone else must sign it off."
    if actor.pk == version.registered_by_id:
        return "You registered this version; someone else must sign it off."
    if actor.pk == version.model.owner_id:
        return f"You own model {version.model.name}; someone else must sign off its versions."
    if is_run_author(actor, version):
        return "You ran the MLflow run this version was trained in; someone else must sign it off."
    return None


def has_signed(actor: Any, request: PromotionRequest) -> bool:
    """Has `actor` signed `request`? Read from its prefetched sign-offs when a list page
    loaded them (`reviews.selectors.request_list`), so a page asks no query per request."""
    if "sign_offs" in getattr(request, "_prefetched_objects_cache", {}):
        return any(s.signer_id == actor.pk for s in request.sign_offs.all())
    return request.sign_offs.filter(signer=actor).exists()


def signoff_refusal(*, actor: Any, request: PromotionRequest) -> NotAllowed | Conflict | None:
    """Why `actor` may not sign `request` now, or None if they may.

    Pages use it to decide whether to show the buttons; the service raises it.
    """
    forbidden = _signing_forbidden(actor, request)
    if forbidden is not None:
        return NotAllowed(forbidden)
    if not request.is_open:
        return Conflict(f"Request #{request.pk} is {request.status}; it takes no more sign-offs.")
    if has_signed(actor, request):
        return Conflict("You have already signed this request.")
    if not request.model_version.card_hash:
        return Conflict("The model card is still being generated; sign off once it is ready.")
    return None


def requests_signable(
    *, actor: Any, requests: QuerySet[PromotionRequest]
) -> QuerySet[PromotionRequest]:
    """`signoff_refusal` as a query: those of `requests` that `actor` may sign now, so a
    queue of thousands is counted and paged in the database instead of read row by row.

    It asks what `signoff_refusal` asks, in the same order (tests/reviews/
    test_signable_query.py holds the two equal over every case). One difference can remain:
    SQLite's LOWER folds ASCII letters only, so a run author written with other capitals
    may stay in the result; pages ask `signoff_refusal` about each row they show.
    """
    if not user_can(actor, Capability.SIGN_OFF):
        return requests.none()
    names = {actor.get_username().casefold(), (getattr(actor, "email", "") or "").casefold()}
    author = Lower(
        Trim(
            Coalesce(
                KeyTextTransform("user", "model_version__run_facts"),
                Value(""),
                output_field=TextField(),
            )
        )
    )
    return (
        requests.filter(status__in=PromotionRequest.OPEN_STATUSES)
        .exclude(requested_by=actor)
        .exclude(model_version__registered_by=actor)
        .exclude(model_version__model__owner=actor)
        .alias(run_author_name=author)
        .exclude(run_author_name__in=names - {""})
        .exclude(model_version__card_hash="")
        .exclude(Exists(SignOff.objects.filter(request=OuterRef("pk"), signer=actor)))
    )


def execute_refusal(*, actor: Any, request: PromotionRequest) -> NotAllowed | None:
    """Why `actor` may not execute `request` (whatever its state), or None if they may."""
    if not user_can(actor, Capability.EXECUTE_PROMOTION):
        return NotAllowed("Your roles do not allow you to execute promotions.")
    if has_signed(actor, request):
        return NotAllowed("You signed off this request; someone else must execute it.")
    return None
