"""`page`/`page_size` parameters and the `{items, total, page, page_size, pages}` envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
Columns = TypeVarTuple("Columns")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# The OFFSET of the last page, (MAX_PAGE - 1) * MAX_PAGE_SIZE, fits a 32-bit integer: the
# narrowest integer any backend binds it as (PostgreSQL's int4 parameters on the event-loop
# fast paths, bigint elsewhere). Past it the database refuses the statement.
MAX_PAGE = (2**31 - 1) // MAX_PAGE_SIZE


class PageParams(BaseModel):
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def pages(self, total: int) -> int:
        """How many pages `total` items fill."""
        return -(-total // self.page_size)


# async: pure parsing, so FastAPI need not hop to a worker thread for it.
async def _page_params(
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"1-based page number (max {MAX_PAGE})")
    ] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (max {MAX_PAGE_SIZE})")
    ] = DEFAULT_PAGE_SIZE,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


Pagination = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(from_attributes=True)

    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int

    @classmethod
    def build(cls, items: Sequence[Any], total: int, params: PageParams) -> Page[T]:
        return cls(
            items=list(items),
            total=total,
            page=params.page,
            page_size=params.page_size,
            pages=params.pages(total),
        )


def paginate_rows(
    session: Session, statement: Select[*Columns], params: PageParams
) -> tuple[list[Row[*Columns]], int]:
    """Run `statement` for one page of whole rows and count the whole result in SQL."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = session.execute(statement.limit(params.page_size).offset(params.offset)).all()
    return list(rows), int(total or 0)


def paginate(session: Session, statement: Select[Any], params: PageParams) -> tuple[list[Any], int]:
    """`paginate_rows` keeping the first column of each row (the model, for `select(Model)`)."""
    rows, total = paginate_rows(session, statement, params)
    return [row[0] for row in rows], total
