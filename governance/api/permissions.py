from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from governance.roles import Capability, user_can


def required_capability(required: Mapping[str, Any], *, action: str, method: str) -> Any:
    """What a view's `required_capabilities` asks of one action and HTTP method.

    HasCapability and the URL walk of the tests (tests/governance/test_url_permissions.py)
    both read declarations through this function, so they cannot disagree.
    """
    return required.get(f"{action}.{method}", required.get(action, Capability.READ))


class HasCapability(BasePermission):
    """The one permission check of every API view.

    A view declares `required_capabilities = {"create": Capability.REGISTER, ...}` by action
    (or by HTTP method for plain APIViews); "action.method" keys single out one method of an
    action that answers several. Anything not listed needs Capability.READ. A tuple of
    capabilities lets in a holder of any of them (the service then decides by what the
    call changes: editing a model needs REGISTER, changing its risk tier CHANGE_RISK_TIER).
    Object-level rules (separation of duties) live in the services.
    """

    message = "Your roles do not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        required = getattr(view, "required_capabilities", {})
        method = request.method.lower()
        action = getattr(view, "action", None) or method
        capability = required_capability(required, action=action, method=method)
        if capability is None:
            return True
        if isinstance(capability, tuple):
            return any(user_can(request.user, one) for one in capability)
        return user_can(request.user, capability)
