"""The posting budget: a student writes at most DISCUSSION_POSTS_PER_MINUTE threads and
replies a minute (the shared limiter's sliding window, on Redis when configured, so every
API process counts against one budget); managers are not limited."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.core.config import get_settings
from app.core.errors import TooManyRequests
from app.core.permissions import Role
from app.core.ratelimit import Rule, get_rate_limiter
from app.modules.users.dependencies import CurrentUser
from app.modules.users.models import User


async def posting_user(user: CurrentUser) -> User:
    if user.role != Role.STUDENT.value:
        return user
    rule = Rule("discussion_posts", "", get_settings().DISCUSSION_POSTS_PER_MINUTE, 60)
    decision = await get_rate_limiter().hit(rule, str(user.id))
    if not decision.allowed:
        raise TooManyRequests(
            "Too many posts; wait before posting again",
            code="posting_rate_limited",
            headers={"Retry-After": str(decision.retry_after)},
        )
    return user


PostingUser = Annotated[User, Depends(posting_user)]
