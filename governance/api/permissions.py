from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from governance.roles import Capability, user_can


class HasCapability(BasePermission):
    """The one permission check of every API view.

    A view declares `required_capabilities = {"create": Capability.REGISTER, ...}` by action
    (or by HTTP method for plain APIViews); anything not listed needs Capability.READ.
    Object-level rules (separation of duties) live in the services.
    """

    message = "Your roles do not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        required = getattr(view, "required_capabilities", {})
        key = getattr(view, "action", None) or request.method.lower()
        capability = required.get(key, Capability.READ)
        if capability is None:
            return True
        return user_can(request.user, capability)
