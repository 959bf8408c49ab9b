"""``pilotlift`` command line: serve, demo, report."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.server import is_loopback
    from service.settings import Settings
    from service.storage.db import create_storage_engine, migrate

    if not is_loopback(args.host):
        print(
            f"pilotlift: refusing to serve on {args.host}: no API keys are configured, and an"
            " open server may only listen on a loopback address (127.0.0.1, ::1, localhost).",
            file=sys.stderr,
        )
        return 2
    settings = Settings.from_env()
    engine = create_storage_engine(settings.database_url)
    migrate(engine)  # once, here, so that workers never race on the schema
    engine.dispose()
    os.environ["PILOTLIFT_MIGRATE_ON_START"] = "0"
    if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pilotlift-metrics-")
    print(
        f"pilotlift: storage {settings.database_url}; serving on http://{args.host}:{args.port}"
        f" with {args.workers} worker(s). No API keys are configured: running OPEN on loopback"
        " only.",
        flush=True,
    )
    uvicorn.run(
        "service.server:asgi_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

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

    import msgspec

    from service.errors import PilotliftError
    from service.reports import build_weekly_report, publish_report
    from service.reports.html import render_html
    from service.reports.markdown import render_markdown
    from service.reports.store import find_snapshot
    from service.settings import Settings
    from service.storage.db import create_storage_engine, migrate
    from service.timeutil import last_complete_week, parse_iso_week, shift_week

    settings = Settings.from_env()
    now = settings.clock()
    week = args.week or last_complete_week(now)
    try:
        parse_iso_week(week)
    except ValueError as exc:
        print(f"pilotlift report: {exc}", file=sys.stderr)
        return 2
    engine = create_storage_engine(settings.database_url)
    migrate(engine)
    previous = find_snapshot(engine, shift_week(week, -1))
    report = build_weekly_report(engine, week, now, previous=previous.report if previous else None)
    if args.publish:
        try:
            publish_report(engine, report, by="cli", now=now)
        except PilotliftError as exc:
            print(f"pilotlift report: {exc.detail}", file=sys.stderr)
            return 1
    if args.format == "html":
        text = render_html(report)
    elif args.format == "md":
        text = render_markdown(report)
    else:
        text = msgspec.json.format(msgspec.json.encode(report).decode(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"pilotlift report: wrote the review of {week} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
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

    report = sub.add_parser("report", help="the weekly scale/stop review of an ISO week")
    report.add_argument("--week", help="e.g. 2026-W47; default: the last complete ISO week")
    report.add_argument("--format", choices=("html", "md", "json"), default="md")
    report.add_argument("--out", help="file to write (default: standard output)")
    report.add_argument("--publish", action="store_true", help="also publish it (immutable)")
    report.set_defaults(func=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
