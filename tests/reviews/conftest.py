"""Fixtures of the review tests."""

from tests.reviews.meeting_world import board_world  # noqa: F401
