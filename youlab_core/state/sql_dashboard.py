"""The course dashboard's students page on SQLite/PostgreSQL: one indexed query for a page of a course's students by
last activity, with each one's runs and failed runs, and one count (the dashboard shows 50 or 100 of thousands).

The order uses `ix_youlab_activity_course_last`; each row's run counts come from the covering index
`ix_youlab_runs_course_user` (schema version 6), so the cost follows the page, not the course."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, select

from .records import Activity, from_epoch
from .sql_base import SqlBase
from .tables import activity, runs


class DashboardStoreMixin(SqlBase):
    def course_students(self, course_id: str, limit: int, offset: int = 0,
                        user_ids: Sequence[str] | None = None) -> tuple[int, list[tuple[Activity, int, int]]]:
        where = [activity.c.course_id == course_id]
        if user_ids is not None:
            where.append(activity.c.user_id.in_(list(user_ids)))
        # The page first, then the run counts of its rows only (with OFFSET, counts in the outer select would be
        # computed for every skipped row too).
        chosen = (select(activity).where(*where).order_by(activity.c.last_message_at.desc(), activity.c.user_id)
                  .limit(limit).offset(offset).subquery())
        mine = and_(runs.c.course_id == chosen.c.course_id, runs.c.user_id == chosen.c.user_id)
        total_runs = select(func.count()).where(mine).scalar_subquery()
        failed = select(func.count()).where(mine, runs.c.status == "failed").scalar_subquery()
        page = (select(chosen, total_runs.label("runs"), failed.label("failed"))
                .order_by(chosen.c.last_message_at.desc(), chosen.c.user_id))
        with self.engines.read.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(activity).where(*where)).scalar_one())
            rows = [(Activity(r.user_id, r.course_id, from_epoch(r.first_message_at),  # type: ignore[arg-type]
                              from_epoch(r.last_message_at), r.message_count),  # type: ignore[arg-type]
                     int(r.runs), int(r.failed)) for r in conn.execute(page)]
        return total, rows
