"""Project package and the base layer: roles, approval policies, audit context and history."""

from governance.celery import app as celery_app

__all__ = ["celery_app"]
