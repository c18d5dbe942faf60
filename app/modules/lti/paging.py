"""IMS service answers: their media types, and paging by `Link` headers (rel next, prev,
first, last). A page is `page` with `page_size`, or the IMS `limit` (AGS 2.0 line items and
results, NRPS 2.0 memberships): the links then carry `limit` as the request did."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from app.core.pagination import MAX_PAGE_SIZE, PageParams, Pagination


async def _ims_page_params(
    params: Pagination,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description="At most this many per answer (instead of page_size); the Link "
            'header\'s rel="next" names the rest',
        ),
    ] = None,
) -> PageParams:
    if limit is None:
        return params
    return PageParams(page=params.page, page_size=limit)


ImsPagination = Annotated[PageParams, Depends(_ims_page_params)]


def link_header(request: Request, params: PageParams, total: int) -> str:
    last = max(params.pages(total), 1)
    size = "limit" if "limit" in request.query_params else "page_size"

    def url(page: int) -> str:
        query = {**request.query_params, "page": str(page), size: str(params.page_size)}
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


def ims_page(
    request: Request, params: PageParams, content: Any, total: int, media_type: str
) -> Response:
    """One page of an IMS container, with its Link header."""
    return ims_response(content, media_type, headers={"Link": link_header(request, params, total)})
