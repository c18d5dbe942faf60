"""The LTI 1.3 Advantage platform's routes: `/api/v1/lti/...` and the course-side links."""

from __future__ import annotations

from app.core.routing import APIRouter
from app.modules.lti.router_courses import router as courses_router
from app.modules.lti.router_platform import router as platform_router
from app.modules.lti.router_services import router as services_router

router = APIRouter()
router.include_router(platform_router)
router.include_router(services_router)
router.include_router(courses_router)
