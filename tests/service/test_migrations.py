"""Schema migrations when several service processes (machines) start at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

import service.storage
from service.storage.engine import create_storage_engine, migrate
from service.testing import throwaway_database


def _newest_revision() -> str:
    scripts = ScriptDirectory(str(Path(service.storage.__file__).parent / "migrations"))
    return str(scripts.get_current_head())


def test_four_processes_migrating_one_new_postgresql_database_at_once() -> None:
    with throwaway_database() as url:
        engines = [create_storage_engine(url) for _ in range(4)]
        try:
            with ThreadPoolExecutor(4) as pool:
                errors = [f.exception() for f in [pool.submit(migrate, e) for e in engines]]
            assert errors == [None] * 4
            with engines[0].connect() as conn:
                head = conn.execute(text("SELECT version_num FROM alembic_version")).all()
                tables = conn.execute(
                    text("SELECT count(*) FROM pg_tables WHERE tablename = 'customer_totals'")
                ).scalar_one()
                # The lock is released: another session can take it at once.
                free = conn.execute(text("SELECT pg_try_advisory_lock(1885957231)")).scalar_one()
                foreign_keys = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                        " AND conrelid IN ('assignments'::regclass, 'exposures'::regclass)"
                    )
                ).scalar_one()
            assert [v for (v,) in head] == [_newest_revision()]
            assert tables == 1
            assert foreign_keys == 0  # 0007: no per-row trigger on the bulk-written tables
            assert free is True
        finally:
            for e in engines:
                e.dispose()
