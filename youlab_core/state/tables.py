"""The state store's tables (SQLAlchemy Core). Times are UTC epoch seconds (double precision): the same
arithmetic works on SQLite and PostgreSQL, and comparisons in the hot queries stay index-friendly."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

schema_version = Table(
    "youlab_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

# One row per (student, course): written by the chat path, so it is one upsert.
activity = Table(
    "youlab_activity",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("course_id", String(64), primary_key=True),
    Column("first_message_at", Float, nullable=False),
    Column("last_message_at", Float, nullable=False),
    Column("message_count", BigInteger, nullable=False),
    Index("ix_youlab_activity_course_last", "course_id", "last_message_at"),
)

# One row per (task, student). The claim lives on the row that holds the due time, so that winning a claim is a
# single conditional UPDATE (or upsert) that re-checks the due time and the lease on the row itself.
trigger_state = Table(
    "youlab_trigger_state",
    metadata,
    Column("task", String(64), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("course_id", String(64), nullable=False),
    Column("next_due_at", Float),  # NULL: nothing pending
    Column("due_kind", String(16)),
    Column("chat_id", String(255)),  # after_messages: the chat that made it due
    Column("rerun_due_at", Float),  # a schedule fire that arrived while the row was claimed
    Column("last_run_at", Float),  # start of the last finished run (idle cooldown counts from it)
    Column("last_fire_at", Float),  # due time of the last finished run
    Column("messages_at_last_run", BigInteger, nullable=False, default=0),
    Column("runs", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),  # attempts at the pending due time
    Column("run_id", String(36)),  # run record of the pending due time (kept across retries)
    Column("claim_token", String(36)),
    Column("claim_owner", String(255)),
    Column("claim_expires_at", Float),
    Column("claimed_at", Float),
    Column("claim_messages", BigInteger),  # the student's message count when claimed
    Index("ix_youlab_trigger_due", "task", "next_due_at"),
    Index("ix_youlab_trigger_owner", "claim_owner"),
)

# Per task: the schedule's next expected fire, skips, and how far the idle sweep has read activity.
task_cursor = Table(
    "youlab_task_cursor",
    metadata,
    Column("task", String(64), primary_key=True),
    Column("course_id", String(64), nullable=False),
    Column("schedule", String(255)),  # "<cron>|<timezone>" the next fire was computed for
    Column("next_fire_at", Float),
    Column("last_fire_at", Float),
    Column("fires", Integer, nullable=False, default=0),
    Column("skipped_total", Integer, nullable=False, default=0),
    Column("last_skip_at", Float),
    Column("last_skip_count", Integer, nullable=False, default=0),
    Column("idle_swept_until", Float, nullable=False, default=0.0),
)

runs = Table(
    "youlab_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("task", String(64), nullable=False),
    Column("course_id", String(64), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("due_at", Float),
    Column("chat_id", String(255)),  # after_messages: the triggering chat
    Column("claimed_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("error", Text),
    Column("owner", String(255)),
    Column("thread_chat_id", String(255)),
    Column("diffs_proposed", Integer),
    Column("token_usage", Text),  # JSON object
    Index("ix_youlab_runs_claimed", "claimed_at"),
    Index("ix_youlab_runs_status", "status", "claimed_at"),
    Index("ix_youlab_runs_task", "task", "claimed_at"),
    Index("ix_youlab_runs_user", "user_id", "claimed_at"),
    # Version 6: per course, each student's runs and failures (the dashboard's students view) from the index alone.
    Index("ix_youlab_runs_course_user", "course_id", "user_id", "status"),
)

# --- added in schema version 2 ---

threads = Table(
    "youlab_threads",
    metadata,
    Column("chat_id", String(255), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("task", String(64), nullable=False),
    Column("course_id", String(64), nullable=False),
    Column("run_id", String(36)),
    Column("created_at", Float, nullable=False),
    # Version 7: what the thread's report says beyond its changes (JSON: findings, problems, held_back), so the
    # report a review rebuilds from the server keeps it.
    Column("narrative", Text),
    # Version 8: when the thread writer archived the thread with nothing left to decide in it. Later runs read only
    # threads without it, so a run's cost does not grow with the student's history of runs.
    Column("closed_at", Float),
    Index("ix_youlab_threads_user_task", "user_id", "task", "created_at"),
)

outbox = Table(
    "youlab_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    # Which consumer the item is for ("honcho": the mirror, "letta": Letta block writes); added in version 3.
    Column("queue", String(32), nullable=False, server_default="honcho"),
    Column("payload", Text, nullable=False),
    Column("enqueued_at", Float, nullable=False),
    Column("available_at", Float, nullable=False),
    Column("status", String(8), nullable=False),  # queued | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("owner", String(255)),
    Column("lease_expires_at", Float),
    Column("last_error", Text),
    Index("ix_youlab_outbox_queue_ready", "queue", "status", "available_at"),
)

counters = Table(
    "youlab_counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# --- added in schema version 4 ---

# Every agent folder the bundle created in a student's Open WebUI chat list. The thread writer uses only folders
# listed here: a folder the student made (even with an agent's meta) is never written into.
agent_folders = Table(
    "youlab_agent_folders",
    metadata,
    Column("folder_id", String(255), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("task", String(64), nullable=False),
    Column("course_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_youlab_agent_folders_user_task", "user_id", "task", "created_at"),
)

# --- added in schema version 5 ---

# Tasks an operator paused: their triggers keep counting (rows still become due) but nothing claims them.
# A row exists only while the task is paused.
task_pauses = Table(
    "youlab_task_pauses",
    metadata,
    Column("task", String(64), primary_key=True),
    Column("course_id", String(64), nullable=False),
    Column("paused_at", Float, nullable=False),
    Column("paused_by", String(255), nullable=False),
    Column("note", Text),
)

# Every pause and resume, with who did it: the record outlives the pause itself.
task_actions = Table(
    "youlab_task_actions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("task", String(64), nullable=False),
    Column("course_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # pause | resume | run | retry (run and retry: version 6)
    Column("actor", String(255), nullable=False),
    Column("at", Float, nullable=False),
    Column("note", Text),
    Index("ix_youlab_task_actions_task", "task", "at"),
)

# --- added in schema version 6 ---

# Each scheduler's last tick (one row per process, `owner` as the scheduler names itself), for the dashboard's
# Health section: a process that stopped ticking shows its last tick growing old.
heartbeats = Table(
    "youlab_heartbeats",
    metadata,
    Column("owner", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),  # "scheduler"
    Column("started_at", Float, nullable=False),
    Column("at", Float, nullable=False),
)

V1_TABLES = [activity, trigger_state, task_cursor, runs]
