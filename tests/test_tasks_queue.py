"""The SQLite queue file: a hint store, written once a due post, without an fsync each time."""

from __future__ import annotations

from pathlib import Path

from survey import tasks


def test_the_sqlite_queue_commits_in_wal_without_an_fsync_each_enqueue(tmp_path: Path):
    # DESIGN.md rule 1: the queue is a hint and the minute sweep re-enqueues what is due, so
    # a hint lost to a power cut costs at most a minute; WAL with synchronous=NORMAL is
    # never corrupted by one (OFF could be), and keeps every commit across a process crash.
    storage = tasks.storage_for(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    journal = storage.conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = storage.conn.execute("PRAGMA synchronous").fetchone()[0]
    assert (journal, synchronous) == ("wal", 1)


def test_a_hint_enqueued_by_one_process_is_read_by_another(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    web, worker = tasks.storage_for(url), tasks.storage_for(url)
    web.enqueue(b"send 7")
    assert worker.dequeue() == b"send 7"
    assert worker.dequeue() is None
