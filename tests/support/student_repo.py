"""Reading a student's git repository in end-to-end tests without racing the course's own agents.

The session's Open WebUI runs per-minute and idle agents that commit their proposals into the same repository
while a test acts, so a test counts the commits made in the student's name rather than every commit."""

from __future__ import annotations

import git


def commit_ids(repo: git.Repo) -> set[str]:
    """Every commit in the repository now, to compare against later."""
    return {commit.hexsha for commit in repo.iter_commits()}


def students_commits_since(repo: git.Repo, seen: set[str], user_id: str = "") -> list[git.Commit]:
    """The commits authored by the student ``user_id`` (any student when empty) after ``seen`` was taken, newest
    first."""
    author = f"student:{user_id}"
    return [c for c in repo.iter_commits()
            if c.hexsha not in seen and (c.author.name == author if user_id else str(c.author.name).startswith(author))]
