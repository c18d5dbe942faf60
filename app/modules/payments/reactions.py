"""The rules payments hand to the modules they build on: enrolling in a paid course is
settled by a subscription's grant or a checkout."""

from __future__ import annotations

from app.modules.enrollments.service import settle_paid_enrollments_with
from app.modules.payments.services.checkout import settle_paid_enrollment

settle_paid_enrollments_with(settle_paid_enrollment)
