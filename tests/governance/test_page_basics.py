"""What every page shares: an icon (no 404 per page) and dates auditors read at a glance."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon_for_anyone(client, settings):
    response = client.get("/favicon.ico")  # anonymous
    assert (response.status_code, response["Location"]) == (301, "/static/img/favicon.svg")
    icon = settings.BASE_DIR / "static" / "img" / "favicon.svg"
    assert icon.read_text().startswith("<svg")


def test_pages_name_the_icon(client, users):
    client.force_login(users["board"])
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg"' in page


def test_dates_are_iso_with_the_zone_not_prose(client, users, make_model, make_version):
    version = make_version(make_model())
    client.force_login(users["board"])
    page = client.get(f"/models/{version.model.name}/versions/1/").content.decode()
    when = version.registered_at.strftime("%Y-%m-%d %H:%M")
    assert f"on {when} UTC." in page
    assert "p.m." not in page and "a.m." not in page
