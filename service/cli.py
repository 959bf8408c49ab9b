"""``pilotlift`` command line: serve, demo, report, keys."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.admin.keys import list_keys
    from service.runtime.workers import balances_connections, run_workers
    from service.settings import Settings, is_loopback
    from service.storage.engine import create_storage_engine, migrate

    settings = Settings.from_env()
    engine = create_storage_engine(settings.database_url)
    migrate(engine)  # once, here, so that workers never race on the schema
    keys = [k for k in list_keys(engine) if k.revoked_at is None]
    has_any = bool(list_keys(engine))
    engine.dispose()
    if not has_any and not is_loopback(args.host):
        print(
            f"pilotlift: refusing to serve on {args.host}: no API keys exist, and an open server"
            " may only listen on a loopback address (127.0.0.1, ::1, localhost). Create a key"
            " first: pilotlift keys create --scope admin",
            file=sys.stderr,
        )
        return 2
    os.environ["PILOTLIFT_MIGRATE_ON_START"] = "0"
    os.environ["PILOTLIFT_BIND_HOST"] = args.host
    if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pilotlift-metrics-")
    mode = (
        f"{len(keys)} active API key(s); every call but /health and /ready needs one"
        if has_any
        else "no API keys exist: running OPEN on loopback only"
    )
    print(
        f"pilotlift: storage {settings.database_url}; serving on http://{args.host}:{args.port}"
        f" with {args.workers} worker(s); {mode}.",
        flush=True,
    )
    config = {
        "app": "service.runtime.server:asgi_factory",
        "factory": True,
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 30,
    }
    if args.workers > 1 and balances_connections():
        return run_workers(args.workers, config)
    uvicorn.run(
        **config,
        workers=args.workers,
        # uvicorn kills a worker that does not answer its supervisor's ping in time (5 s by
        # default); on a busy 2-core machine a worker inside a 100k batch can take longer, and
        # killing it would drop requests in flight.
        timeout_worker_healthcheck=30,
    )
    return 0


def _keys(args: argparse.Namespace) -> int:
    """``pilotlift keys create|revoke|list`` on the configured database."""
    from service.admin.keys import create_key, list_keys, revoke_key
    from service.errors import PilotliftError
    from service.settings import Settings
    from service.storage.engine import create_storage_engine, migrate
    from service.timeutil import utc_now

    settings = Settings.from_env()
    engine = create_storage_engine(settings.database_url)
    migrate(engine)
    try:
        if args.action == "create":
            secret, info = create_key(engine, scope=args.scope, name=args.name, now=utc_now())
            print(f"created {info.scope} key {info.name!r}; it is shown only this once:",
                  file=sys.stderr)  # fmt: skip
            print(secret)
        elif args.action == "revoke":
            info = revoke_key(engine, args.name, now=utc_now())
            print(f"revoked key {info.name!r}", file=sys.stderr)
        else:
            for k in list_keys(engine):
                state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
                print(f"{k.name}\t{k.scope}\t{k.prefix}…\t{k.created_at:%Y-%m-%d %H:%M}\t{state}")
    except PilotliftError as exc:
        print(f"pilotlift keys: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.demo.run import run_demo

    return run_demo(
        database=args.database,
        host=args.host,
        port=args.port,
        customers=args.customers,
        keep_serving=not args.exit,
        seed=args.seed,
    )


def _report(args: argparse.Namespace) -> int:
    """Build (and optionally publish) a weekly review straight from the configured database."""
    from pathlib import Path

    from service.errors import PilotliftError
    from service.reports import publish_report
    from service.reports.build import review_of_week
    from service.reports.render import render
    from service.settings import Settings
    from service.storage.engine import create_storage_engine, migrate
    from service.timeutil import checked_week

    settings = Settings.from_env()
    now = settings.clock()
    try:
        week = checked_week(args.week, now)
    except PilotliftError as exc:
        print(f"pilotlift report: {exc.detail}", file=sys.stderr)
        return 2
    engine = create_storage_engine(settings.database_url)
    migrate(engine)
    report = review_of_week(engine, week, now)
    if args.publish:
        try:
            publish_report(engine, report, by="cli", now=now)
        except PilotliftError as exc:
            print(f"pilotlift report: {exc.detail}", file=sys.stderr)
            return 1
    text = render(report, args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"pilotlift report: wrote the review of {week} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _fold(args: argparse.Namespace) -> int:
    """Fold every fact written so far into the per-customer totals, then exit (for deployments
    that run the service with ``PILOTLIFT_AGGREGATE_EVERY_SECONDS=0`` and fold from a job)."""
    from service.settings import Settings
    from service.storage.aggregator import backlog, catch_up
    from service.storage.engine import create_storage_engine, migrate

    engine = create_storage_engine(Settings.from_env().database_url)
    try:
        migrate(engine)
        before = backlog(engine).rows
        catch_up(engine, timeout=args.timeout)
        print(f"folded {before:,} fact rows into the totals; {backlog(engine).rows:,} left")
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pilotlift", description="Experiment and lift-testing service for marketing pilots."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)

    demo = sub.add_parser(
        "demo", help="serve on SQLite, run a simulated three-week pilot through the API"
    )
    demo.add_argument(
        "--database",
        default="pilotlift-demo.db",
        help="SQLite file for the demo (recreated on each run)",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    demo.add_argument("--customers", type=int, default=300_000)
    demo.add_argument("--seed", type=int, default=48)
    demo.add_argument("--exit", action="store_true", help="exit after printing the results")
    demo.set_defaults(func=_demo)

    keys = sub.add_parser("keys", help="API keys: create (shown once), revoke, list")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="create a key and print it once")
    create.add_argument("--scope", required=True, choices=("admin", "read", "assign"))
    create.add_argument("--name", help="a unique name (default: scope and a random suffix)")
    revoke = key_actions.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    key_actions.add_parser("list", help="list keys (never their secrets)")
    keys.set_defaults(func=_keys)

    report = sub.add_parser("report", help="the weekly scale/stop review of an ISO week")
    report.add_argument("--week", help="e.g. 2026-W47; default: the last complete ISO week")
    report.add_argument("--format", choices=("html", "md", "json"), default="md")
    report.add_argument("--out", help="file to write (default: standard output)")
    report.add_argument("--publish", action="store_true", help="also publish it (immutable)")
    report.set_defaults(func=_report)

    fold = sub.add_parser("fold", help="fold the facts written so far into the totals, then exit")
    fold.add_argument("--timeout", type=float, default=600.0, help="seconds to wait at most")
    fold.set_defaults(func=_fold)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
