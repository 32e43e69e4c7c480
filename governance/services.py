from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from governance.audit.chain import audit_record
from governance.audit.hashing import canonical_json, sha256_hex
from governance.audit.verify import audit_chain_verify
from governance.errors import InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.models import ApiToken, ApprovalPolicy, RiskTier, password_fingerprint
from governance.roles import ROLE_MODEL_PERMISSIONS, Capability, Role, forget_roles, user_can
from governance.signals import policy_changed

DEFAULT_POLICIES: dict[str, tuple[int, list[str]]] = {
    RiskTier.LOW: (1, []),
    RiskTier.MEDIUM: (2, [Role.VALIDATOR.value]),
    RiskTier.HIGH: (3, [Role.VALIDATOR.value, Role.COMPLIANCE.value]),
}

__all__ = [  # the audit trail's entry points, imported from here by every app
    "audit_chain_verify",
    "audit_record",
    "canonical_json",
    "sha256_hex",
]

GOVERNANCE_APPS = ("governance", "models_registry", "monitoring", "reviews")


def _permissions_for(patterns: tuple[str, ...]) -> list[Permission]:
    found: list[Permission] = []
    for pattern in patterns:
        if pattern == "view_*":
            found += Permission.objects.filter(
                codename__startswith="view_", content_type__app_label__in=GOVERNANCE_APPS
            )
        else:
            app_label, codename = pattern.split(".")
            found += Permission.objects.filter(codename=codename, content_type__app_label=app_label)
    return found


def role_groups_sync() -> None:
    """One group per role, with the admin permissions that role carries; default policies."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set(_permissions_for(ROLE_MODEL_PERMISSIONS.get(role, ())))
    for tier, (approvals, roles) in DEFAULT_POLICIES.items():
        ApprovalPolicy.objects.get_or_create(
            risk_tier=tier, defaults={"required_approvals": approvals, "required_roles": roles}
        )


@transaction.atomic
def user_set_roles(
    *, username: str, roles: list[str], password: str | None = None
) -> tuple[AbstractBaseUser, bool]:
    """Create the user or replace its roles. Returns (user, created)."""
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise InvalidInput(
            f"Unknown role(s): {', '.join(unknown)}. Roles: {', '.join(Role.values)}"
        )
    if not roles:
        raise InvalidInput("Give at least one role.")
    role_groups_sync()
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    # The same password again is no change: re-hashing it would end the user's API tokens.
    if password and (created or not user.check_password(password)):
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.is_staff = Role.COMPLIANCE.value in roles or user.is_superuser
    user.save()
    user.groups.set(Group.objects.filter(name__in=roles))
    forget_roles(user)
    return user, created


TOKEN_KEY_START = "gov_"  # tells a leaked key apart from other secrets (secret scanners)
TOKEN_PREFIX_LENGTH = 12  # what the admin shows: "gov_" and 8 of the key's 43 random characters


@transaction.atomic
def token_create(
    *, user: AbstractBaseUser, name: str, expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """Mint an API token; returns it and its key. Only the key's SHA-256 is stored, so the
    key is shown to the caller now and never again."""
    name = name.strip()
    if not name or len(name) > ApiToken._meta.get_field("name").max_length:
        raise InvalidInput("Give the token a name of 1 to 100 characters.")
    days = settings.API_TOKEN_DAYS if expires_days is None else expires_days
    if days < 1:
        raise InvalidInput("A token lives at least one day.")
    # The stored password, not the caller's copy of the user: a stale copy would mint a
    # token that its own password check refuses.
    password = type(user).objects.filter(pk=user.pk).values_list("password", flat=True).get()
    key = TOKEN_KEY_START + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:TOKEN_PREFIX_LENGTH],
        digest=sha256_hex(key),
        password_fingerprint=password_fingerprint(password),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    audit_record(
        action="token.created",
        object_type="api_token",
        object_id=token.pk,
        data={
            "user": user.get_username(),
            "name": token.name,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return token, key


def user_token(*, user: AbstractBaseUser, name: str = "api") -> str:
    """A new key for `user` (tests, the demo, benches): a key cannot be shown twice."""
    return token_create(user=user, name=name)[1]


@transaction.atomic
def tokens_revoke(*, tokens: QuerySet[ApiToken], reason: str) -> int:
    """Revoke the tokens that are not revoked yet; returns how many. Rows stay, for the
    record (who had which token, until when, why it ended)."""
    now = timezone.now()
    live = list(
        tokens.filter(revoked_at__isnull=True)
        .select_related("user")
        .select_for_update(of=("self",))
    )
    for token in live:
        token.revoked_at = now
        token.revoked_reason = reason[:200]
        token.save(update_fields=["revoked_at", "revoked_reason"])
        audit_record(
            action="token.revoked",
            object_type="api_token",
            object_id=token.pk,
            data={"user": token.user.get_username(), "name": token.name, "reason": reason},
        )
    return len(live)


def tokens_follow_rehash(*, user: AbstractBaseUser) -> int:
    """Carry the user's live tokens across a re-hash of the same password; returns how many.

    Django re-hashes a password on a successful login when the hasher's settings changed
    (a Django upgrade raising PBKDF2's iterations): the password is the same, so its tokens
    must survive, unlike a real change (`set_password`), which ends them. Called before the
    user row is saved (governance/signals.py), while the old hash is still in the database.
    """
    old = type(user).objects.filter(pk=user.pk).values_list("password", flat=True).first()
    if old is None or old == user.password:
        return 0
    return ApiToken.objects.filter(
        user_id=user.pk, revoked_at__isnull=True, password_fingerprint=password_fingerprint(old)
    ).update(password_fingerprint=password_fingerprint(user.password))


def token_mark_used(*, token: ApiToken, now: datetime) -> None:
    """Record a use at most once per API_TOKEN_LAST_USE_SECONDS, so that no call (predict
    and explain least of all) pays a write for it; last use is known to that precision."""
    last = token.last_used_at
    if last is not None and (now - last).total_seconds() < settings.API_TOKEN_LAST_USE_SECONDS:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def require(user: Any, capability: Capability, action: str) -> None:
    """Raise NotAllowed unless the user's roles include `capability`."""
    if not user_can(user, capability):
        raise NotAllowed(f"Your roles do not allow you to {action}.")


POLICY_FIELDS = ("required_approvals", "required_roles")


@transaction.atomic
def policy_save(*, actor: Any, policy: ApprovalPolicy, origin_label: str = "") -> bool:
    """Store an edited (already validated) policy; False if nothing changed.

    Open requests of that tier are re-evaluated by whoever listens to `policy_changed`.
    """
    if not user_can(actor, Capability.USE_ADMIN) and not getattr(actor, "is_superuser", False):
        raise NotAllowed("Only compliance officers edit approval policies.")
    before = ApprovalPolicy.objects.filter(pk=policy.pk).values(*POLICY_FIELDS).first()
    changed = [f for f in POLICY_FIELDS if before is None or before[f] != getattr(policy, f)]
    if not changed:
        return False
    where = f" in {origin_label}" if origin_label else ""
    reason = (f"edited{where}: " + ", ".join(changed)) if before else f"created{where}"
    set_change_reason(policy, reason)
    policy.save()
    audit_record(
        action="policy.edited" if before else "policy.created",
        object_type="approval_policy",
        object_id=policy.risk_tier,
        data={
            "required_approvals": policy.required_approvals,
            "required_roles": policy.required_roles,
            "previous": before,
        },
        actor=actor,
    )
    transaction.on_commit(
        lambda: policy_changed.send(sender=ApprovalPolicy, policy=policy), robust=True
    )
    return True


def policy_for_tier(tier: str) -> ApprovalPolicy:
    return ApprovalPolicy.objects.filter(risk_tier=tier).first() or _default_policy(tier)


def policies_by_tier() -> dict[str, ApprovalPolicy]:
    """Every tier's policy in one query, for pages that evaluate many requests at once."""
    stored = {policy.risk_tier: policy for policy in ApprovalPolicy.objects.all()}
    return {tier: stored.get(tier) or _default_policy(tier) for tier in RiskTier.values}


def _default_policy(tier: str) -> ApprovalPolicy:
    """The unsaved policy a tier has until someone stores one."""
    approvals, roles = DEFAULT_POLICIES[RiskTier(tier)]
    return ApprovalPolicy(risk_tier=tier, required_approvals=approvals, required_roles=roles)
