"""Fixtures of the review tests."""

from tests.reviews.meeting_world import board_world  # noqa: F401
from tests.reviews.summary_world import summary_world  # noqa: F401
