"""The system check: a route that declares no capability stops `manage.py check`.

This module is also a tiny URL configuration (ROOT_URLCONF=__name__ below), with one page
and one API view of each kind: declared, and forgotten.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from governance.checks import check_every_route_declares_its_capability
from governance.pages import page_public, page_requires
from governance.roles import Capability


@page_requires(Capability.READ)
def declared_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@page_public
def open_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("anyone")


def forgotten_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("anyone signed in or not")


class DeclaredApi(APIView):
    required_capabilities = {"get": Capability.READ}


class ForgottenApi(APIView):
    permission_classes = [IsAuthenticated]  # any signed-in user: no capability at all


urlpatterns = [
    path("declared/", declared_page),
    path("public/", open_page),
    path("forgotten/", forgotten_page),
    path("api/declared/", DeclaredApi.as_view()),
    path("api/forgotten/", ForgottenApi.as_view()),
]


@override_settings(ROOT_URLCONF=__name__)
def test_a_page_or_api_view_without_a_declaration_is_an_error():
    errors = check_every_route_declares_its_capability()
    assert {e.id for e in errors} == {"governance.E001"}
    reported = sorted(e.msg.split(" ")[0] for e in errors)
    assert reported == ["/api/forgotten/", "/forgotten/"]
    assert "@page_requires" in errors[0].hint


def test_the_project_itself_declares_every_route():
    assert check_every_route_declares_its_capability() == []
