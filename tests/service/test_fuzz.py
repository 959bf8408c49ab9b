"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis),
against the real app on a SQLite file with five pilots: no input may produce a 5xx, and every
documented response matches its schema. Examples per operation are bounded for CI.

The operations are driven through schemathesis' Hypothesis strategies directly (its pytest
plugin does not support the pytest in use here)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.timeutil import parse_iso_week
from tests.service.report_data import build

# Per operation: schema-valid requests (which reach the handlers) and schema-violating ones
# (which must be refused with a 4xx, never a 5xx).
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}


def _fuzz(operation: Any, calls: dict[str, int], mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any) -> None:
        calls[operation.label] += 1
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    run()


def test_fuzz_every_operation(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = build(tmp_path_factory.mktemp("fuzz") / "p.db")
    _, end = parse_iso_week(data.week2)
    app = create_app(Settings(database_url=str(data.database), clock=SimulatedClock(end)))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    calls: dict[str, int] = {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        calls[operation.label] = 0
        for mode in EXAMPLES:
            try:
                _fuzz(operation, calls, mode)
            except Unsatisfiable:  # e.g. no way to send a schema-violating path-only GET
                continue
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:3000]}")
    print(f"fuzzed {len(calls)} operations with {sum(calls.values())} requests")
    assert len(calls) >= 25
    assert failures == []
