"""IMS service answers: their media types, and paging by `Link` headers (rel next, prev,
first, last) over the one pagination dependency's `page` and `page_size`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response

from app.core.pagination import PageParams


def link_header(request: Request, params: PageParams, total: int) -> str:
    last = max(params.pages(total), 1)

    def url(page: int) -> str:
        query = {**request.query_params, "page": str(page), "page_size": str(params.page_size)}
        return str(request.url.replace_query_params(**query))

    parts = [f'<{url(1)}>; rel="first"', f'<{url(last)}>; rel="last"']
    if params.page < last:
        parts.insert(0, f'<{url(params.page + 1)}>; rel="next"')
    if params.page > 1:
        parts.append(f'<{url(params.page - 1)}>; rel="prev"')
    return ", ".join(parts)


def ims_response(
    content: Any, media_type: str, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(content, default=str),
        status_code=status_code,
        media_type=media_type,
        headers=headers,
    )
