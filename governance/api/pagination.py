"""Page numbers as the schema documents them: a positive integer, or no `page` at all."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's pagination without its lenient readings: `?page=` (empty) and `?page=last`
    would be the first and the last page; here they are a 404 like any other bad page."""

    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        return request.query_params.get(self.page_query_param, 1)
