"""End-to-end tests: the product's parts together, on PostgreSQL, Redis, real Celery workers
and a real browser. Skipped on the embedded default, failed under REQUIRE_SERVICES=True."""
