from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from governance.roles import user_capabilities, user_roles


def roles(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's roles and capabilities, for navigation and buttons."""
    user = getattr(request, "user", None)
    return {
        "user_roles": sorted(role.value for role in user_roles(user)),
        "user_capabilities": {cap.value for cap in user_capabilities(user)},
    }
