"""What a browser page needs: one declaration per view, checked by one decorator.

Pages share the API's vocabulary: a page declares the capability it needs with
`@page_requires(Capability.READ)` (a POST action declares the capability of its action),
exactly as an API view declares `required_capabilities`. The decorator sends anonymous
visitors to the login page and answers a signed-in user who lacks the capability with the
403 page, so a user with no role, or the `service` role, sees no page at all.

The declaration stays on the view (`PAGE_CAPABILITY`), so the system check in
governance/checks.py and the URL walk in tests/governance/test_url_permissions.py find
every view that forgot it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase

from governance.roles import Capability
from governance.services import require

PAGE_CAPABILITY: Final = "page_capability"
# The declaration of a view anyone may open (the login page, the health probe).
PUBLIC: Final = "public"

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def page_requires(capability: Capability) -> Callable[[View], View]:
    """Only users whose roles carry `capability` reach the view; it says so on itself."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # NotAllowed becomes the 403 page (governance.middleware), as for a service refusal.
            require(request.user, capability, capability_phrase(capability))
            return view(request, *args, **kwargs)

        setattr(guarded, PAGE_CAPABILITY, capability)
        return guarded  # type: ignore[return-value]

    return decorate


def page_public(view: View) -> View:
    """Declare that a view is open to anyone, so the check knows it was not forgotten."""
    setattr(view, PAGE_CAPABILITY, PUBLIC)
    return view


def page_capability(view: Callable[..., Any]) -> Capability | str | None:
    """The view's declaration: a Capability, PUBLIC, or None when it declares nothing."""
    return getattr(view, PAGE_CAPABILITY, None)


def capability_phrase(capability: Capability) -> str:
    """ "Read the registry" -> "read the registry", to finish "Your roles do not allow you to"."""
    label = str(capability.label)
    return label[:1].lower() + label[1:]
