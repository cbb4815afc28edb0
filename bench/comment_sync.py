"""What the comment step of ``supplybrain db upgrade`` costs (``migrate.sync_comments``).

Run from the repository root (a few seconds; starts an embedded PostgreSQL of its own)::

    .venv/bin/python bench/comment_sync.py

It prints the wall time of a first upgrade (every revision, then every comment), of upgrades
at head (nothing to write: the catalogue read and the comparison only), of one after a comment
was edited by hand, and of writing every column comment again after they were all cleared. It
never asserts.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.db import migrate
from supplybrain_pipelines.devstack.embedded import ensure_database, start_on_free_port

#: Sets every column comment of the app schema to NULL (``%%``: the driver reads ``%`` as a
#: placeholder even without parameters).
CLEAR_COMMENTS = """DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, a.attname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'supplybrain' AND c.relkind IN ('r', 'v') LOOP
    EXECUTE format('COMMENT ON COLUMN supplybrain.%%I.%%I IS NULL', r.relname, r.attname);
  END LOOP; END $$"""


def _timed(step) -> tuple[float, object]:
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, result


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="supplybrain-bench-comments-"))
    server = start_on_free_port(root / "data", fast_unsafe=True)
    try:
        ensure_database(server.url(), "bench")
        url = server.url().set(database="bench")
        seconds, applied = _timed(lambda: migrate.upgrade(url))
        print(f"first upgrade ({len(applied)} revisions, then every comment): {seconds:.2f} s")
        for _ in range(3):
            seconds, _ = _timed(lambda: migrate.upgrade(url))
            print(f"upgrade at head, comments up to date: {seconds * 1000:.0f} ms")
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("COMMENT ON COLUMN supplybrain.article.code IS 'edited'")
        seconds, _ = _timed(lambda: migrate.upgrade(url))
        print(f"upgrade at head, one comment edited by hand: {seconds * 1000:.0f} ms")
        with engine.begin() as conn:
            conn.exec_driver_sql(CLEAR_COMMENTS)
        with engine.begin() as conn:
            seconds, written = _timed(lambda: migrate.sync_comments(conn))
        print(f"sync_comments after every column comment was cleared: {written} written in "
              f"{seconds * 1000:.0f} ms")
        engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
