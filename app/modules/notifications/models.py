"""The `notification_sends` table: which scheduled email went to whom for which period."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base, UUIDPrimaryKey, utcnow


class NotificationSend(UUIDPrimaryKey, Base):
    """A sent-marker: the unique (job, user, period) row makes each scheduled email go out
    at most once per period, however often (or concurrently) the job runs."""

    __tablename__ = "notification_sends"
    __table_args__ = (
        UniqueConstraint("job", "user_id", "period", name="uq_notification_sends_job_user_period"),
    )

    job: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The job's period: an ISO week ("2026-W47") or a day ("2026-11-22").
    period: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
