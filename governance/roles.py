"""The roles of the contract, what each may do, and how to ask.

A role is a Django group of the same name. What a role may do is a set of capabilities;
services ask `user_can(user, Capability.X)` and nothing else decides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class Role(models.TextChoices):
    DATA_SCIENTIST = "data_scientist", "Data scientist"
    VALIDATOR = "validator", "Validator"
    BOARD = "board", "Review-board member"
    COMPLIANCE = "compliance", "Compliance officer"
    CI = "ci", "CI pipeline"
    SERVICE = "service", "Application calling predict and explain"


class Capability(models.TextChoices):
    READ = "read", "Read the registry"
    REGISTER = "register", "Register models and versions"
    REQUEST_PROMOTION = "request_promotion", "Request promotions"
    EXECUTE_PROMOTION = "execute_promotion", "Execute approved promotions"
    SIGN_OFF = "sign_off", "Sign off promotion requests"
    EDIT_CARD = "edit_card", "Edit the human-written parts of model cards"
    ROLLBACK = "rollback", "Roll back deployments"
    MANAGE_INCIDENTS = "manage_incidents", "Manage incidents"
    LOG_PREDICTIONS = "log_predictions", "Log predictions and ground truth"
    PREDICT = "predict", "Call predict and explain"
    USE_ADMIN = "use_admin", "Use the admin"
    CHANGE_RISK_TIER = "change_risk_tier", "Change a model's risk tier"
    RUN_CHECKS = "run_checks", "Start drift, quality, fairness and estimation checks"
    CONFIGURE_MONITORING = "configure_monitoring", "Change a model's monitoring config"
    MANAGE_ALERTS = "manage_alerts", "Acknowledge and silence alerts"
    WORK_INCIDENTS = "work_incidents", "Assign, comment on and change the status of incidents"
    REQUEST_RETRAINING = "request_retraining", "Start retraining runs"
    MANAGE_MEETINGS = "manage_meetings", "Run review-board meetings and keep their boards"
    FLAG_PREDICTIONS = "flag_predictions", "Flag predictions (wrong, unfair, unexplainable)"
    RECORD_KPIS = "record_kpis", "Record business KPIs"
    REVIEW_BUSINESS_IMPACT = "review_business_impact", "Complete business-impact reviews"
    MANAGE_NOTIFICATIONS = (
        "manage_notifications",
        "Set up notification endpoints and routes; send failed notifications again",
    )
    RECORD_VALIDATION = "record_validation", "Record model validations"
    REVIEW_FINDINGS = "review_findings", "Raise, verify and close findings"
    WORK_FINDINGS = "work_findings", "Remediate findings and add evidence"
    ACCEPT_MODEL_RISK = "accept_model_risk", "Accept the risk of a finding"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.DATA_SCIENTIST: frozenset(
        {
            Capability.READ,
            Capability.REGISTER,
            Capability.REQUEST_PROMOTION,
            Capability.EXECUTE_PROMOTION,
            Capability.ROLLBACK,
            Capability.EDIT_CARD,
            Capability.PREDICT,
            Capability.RUN_CHECKS,
            Capability.CONFIGURE_MONITORING,
            Capability.MANAGE_ALERTS,
            Capability.WORK_INCIDENTS,
            Capability.REQUEST_RETRAINING,
            Capability.FLAG_PREDICTIONS,
            Capability.RECORD_KPIS,
            Capability.WORK_FINDINGS,
        }
    ),
    # Validators record validations and raise findings; the model's developers remediate them.
    Role.VALIDATOR: frozenset(
        {
            Capability.READ,
            Capability.SIGN_OFF,
            Capability.EDIT_CARD,
            Capability.PREDICT,
            Capability.RUN_CHECKS,
            Capability.FLAG_PREDICTIONS,
            Capability.RECORD_VALIDATION,
            Capability.REVIEW_FINDINGS,
            Capability.WORK_FINDINGS,
        }
    ),
    # Board members also take a release back (the rollback button beside compliance's).
    Role.BOARD: frozenset(
        {
            Capability.READ,
            Capability.SIGN_OFF,
            Capability.EDIT_CARD,
            Capability.ROLLBACK,
            Capability.PREDICT,
            Capability.RUN_CHECKS,
            Capability.MANAGE_ALERTS,
            Capability.WORK_INCIDENTS,
            Capability.MANAGE_MEETINGS,
            Capability.FLAG_PREDICTIONS,
            Capability.REVIEW_BUSINESS_IMPACT,
            Capability.REVIEW_FINDINGS,
            Capability.WORK_FINDINGS,
            # Accepting a model risk instead of remediating it is a decision of the board.
            Capability.ACCEPT_MODEL_RISK,
        }
    ),
    Role.COMPLIANCE: frozenset(
        {
            Capability.READ,
            Capability.SIGN_OFF,
            Capability.MANAGE_INCIDENTS,
            Capability.ROLLBACK,
            Capability.EDIT_CARD,
            Capability.USE_ADMIN,
            Capability.PREDICT,
            # The tier decides which approval policy applies: changing it is a compliance act.
            Capability.CHANGE_RISK_TIER,
            Capability.RUN_CHECKS,
            Capability.CONFIGURE_MONITORING,
            Capability.MANAGE_ALERTS,
            Capability.WORK_INCIDENTS,
            Capability.REQUEST_RETRAINING,
            Capability.MANAGE_MEETINGS,
            Capability.FLAG_PREDICTIONS,
            Capability.RECORD_KPIS,
            Capability.REVIEW_BUSINESS_IMPACT,
            # Where alerts go (e-mail addresses, webhook URLs that may carry tokens) is set
            # up by compliance, as in the admin.
            Capability.MANAGE_NOTIFICATIONS,
            Capability.RECORD_VALIDATION,
            Capability.REVIEW_FINDINGS,
            Capability.WORK_FINDINGS,
            Capability.ACCEPT_MODEL_RISK,
        }
    ),
    Role.CI: frozenset(
        {
            Capability.READ,
            Capability.REGISTER,
            Capability.REQUEST_PROMOTION,
            Capability.EXECUTE_PROMOTION,
            Capability.LOG_PREDICTIONS,
            Capability.PREDICT,
            Capability.RUN_CHECKS,
            Capability.CONFIGURE_MONITORING,
            Capability.REQUEST_RETRAINING,
            Capability.FLAG_PREDICTIONS,
            Capability.RECORD_KPIS,
        }
    ),
    # Least privilege for applications that call the model, and let their users say when
    # an answer was wrong or unfair (a flag: monitoring/services/flags.py).
    Role.SERVICE: frozenset({Capability.PREDICT, Capability.FLAG_PREDICTIONS}),
}

# Capabilities a role takes away whatever other roles its holder has: the contract says a
# CI account never signs off, so `ci` plus `validator` still cannot sign (issue #8).
ROLE_DENIED_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.CI: frozenset({Capability.SIGN_OFF}),
}

# Django model permissions each role's group carries, for the admin. Compliance officers
# see everything and edit approval policies; every other change goes through services.
ROLE_MODEL_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.COMPLIANCE: (
        "view_*",
        "governance.change_approvalpolicy",
        "monitoring.add_canarygates",
        # Business KPIs: corrected in the admin through reviews.impact (history kept).
        "reviews.change_businesskpi",
        "reviews.change_kpivalue",
        "monitoring.change_canarygates",
        "monitoring.add_monitoringconfig",
        "monitoring.change_monitoringconfig",
        # Notifications: endpoints (disabled, never deleted: deliveries refer to them), routes.
        "monitoring.add_notificationendpoint",
        "monitoring.change_notificationendpoint",
        "monitoring.add_notificationroute",
        "monitoring.change_notificationroute",
        "monitoring.delete_notificationroute",
        # Login lockouts: see who failed from where, and unlock by deleting the attempt.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "models_registry.add_retentionpolicy",
        "models_registry.change_retentionpolicy",
        "models_registry.add_consentwithdrawal",
        # Check schedules per model and kind (monitoring/services/check_schedules.py).
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "django_celery_beat.view_intervalschedule",
        "django_celery_beat.add_intervalschedule",
        # Revalidation intervals per risk level and each model's materiality (SR 26-2),
        # edited with a reason through reviews/revalidation_services.py.
        "reviews.add_revalidationpolicy",
        "reviews.change_revalidationpolicy",
        "reviews.add_modelmateriality",
        "reviews.change_modelmateriality",
        # Every governed record names people: an auditor follows the link to who they are
        # and which roles they hold (read only; roles are set with `governance_user`).
        "auth.view_user",
        "auth.view_group",
    ),
}

_CACHE_ATTR = "_governance_roles"


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[Role]:
    """The user's roles, read once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: AbstractBaseUser) -> None:
    """Drop the per-object cache after the user's groups changed."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def user_capabilities(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[Capability]:
    caps: set[Capability] = set()
    roles = user_roles(user)
    for role in roles:
        caps |= ROLE_CAPABILITIES[role]
    for role in roles:
        caps -= ROLE_DENIED_CAPABILITIES.get(role, frozenset())
    return frozenset(caps)


def user_can(user: AbstractBaseUser | AnonymousUser | None, capability: Capability) -> bool:
    return capability in user_capabilities(user)


def users_who_can(capability: Capability) -> list[Any]:
    """Active users whose roles carry `capability`, by username: who a page offers as the
    owner of something only such users may hold (a finding, an incident)."""
    roles = [role.value for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
    candidates = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles)
        .distinct()
        .order_by("username")
    )
    return [user for user in candidates if user_can(user, capability)]


def roles_withheld(roles: Iterable[str]) -> dict[Role, frozenset[Capability]]:
    """What some of these roles grant but another of them takes away (role -> capabilities).

    `ci` plus `validator` is a user who can never sign: worth telling whoever assigns it.
    """
    held = {Role(role) for role in roles}
    granted = frozenset().union(*(ROLE_CAPABILITIES[role] for role in held))
    withheld = {role: ROLE_DENIED_CAPABILITIES.get(role, frozenset()) & granted for role in held}
    return {role: caps for role, caps in withheld.items() if caps}
