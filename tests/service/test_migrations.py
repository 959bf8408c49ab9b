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


def _upgrade_keeps_the_groups(url: str) -> None:
    """A database at 0010 (column ``grp``) with rows in every table that has a group upgrades to
    head with each row's group under the column ``group``."""
    from alembic import command
    from alembic.config import Config

    engine = create_storage_engine(url)
    try:
        cfg = Config()
        cfg.set_main_option(
            "script_location", str(Path(service.storage.__file__).parent / "migrations")
        )
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0010")
            conn.commit()
            conn.execute(
                text(
                    "INSERT INTO pilots (id, key, status, design, layer_buckets, has_imports,"
                    " created_at) VALUES (7, 'p', 'running', '{}', '[]', false, 0)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO assignments (pilot_id, customer_id, grp, assigned_at, source)"
                    " VALUES (7, 'c1', 'holdout', 5, 'hash'), (7, 'c2', 'email', 6, 'hash')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO customer_totals (pilot_id, event, grp, customer_id, assigned_at,"
                    " n_window, value_window, n_pre, value_pre, last_ts)"
                    " VALUES (7, 'order', 'email', 'c2', 6, 2, 30.5, 0, 0, 9)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO channel_members (channel_id, period, customer_id, grp, first_at)"
                    " VALUES (1, 0, 'c3', 'channel_holdout', 4)"
                )
            )
            conn.commit()
        migrate(engine)
        with engine.connect() as conn:
            assigned = conn.execute(
                text('SELECT customer_id, "group" FROM assignments ORDER BY customer_id')
            ).all()
            totals = conn.execute(text('SELECT "group", value_window FROM customer_totals')).all()
            members = conn.execute(text('SELECT "group" FROM channel_members')).all()
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert [tuple(r) for r in assigned] == [("c1", "holdout"), ("c2", "email")]
        assert [tuple(r) for r in totals] == [("email", 30.5)]
        assert [tuple(r) for r in members] == [("channel_holdout",)]
        assert head == _newest_revision()
    finally:
        engine.dispose()


def test_upgrade_renames_grp_to_group_on_sqlite(tmp_path: Path) -> None:
    _upgrade_keeps_the_groups(f"sqlite:///{tmp_path / 'old.db'}")


def test_upgrade_renames_grp_to_group_on_postgresql() -> None:
    with throwaway_database() as url:
        _upgrade_keeps_the_groups(url)
