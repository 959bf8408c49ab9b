"""API keys and scopes: every route × (no key, bad key, revoked key, each scope) → status;
the open mode; the key CLI; the audit trail; customer erasure."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.storage.engine import create_storage_engine
from tests.service.credentials import credentials

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)

# The scope each route needs; the test fails when a route is added without an entry here.
NEEDS: dict[tuple[str, str], str] = {
    ("GET", "/health"): "public",
    ("GET", "/ready"): "public",
    ("GET", "/metrics"): "read",
    ("GET", "/schema"): "read",
    ("GET", "/schema/swagger"): "read",
    ("GET", "/schema/assets/{file_path:path}"): "public",
    ("GET", "/schema/openapi.json"): "read",
    ("GET", "/schema/{path:str}"): "read",
    ("GET", "/schema/oauth2-redirect.html"): "read",
    ("GET", "/v1/experiments"): "read",
    ("POST", "/v1/experiments"): "admin",
    ("GET", "/v1/experiments/{key:str}"): "read",
    ("PATCH", "/v1/experiments/{key:str}"): "admin",
    ("POST", "/v1/experiments/{key:str}/start"): "admin",
    ("POST", "/v1/experiments/{key:str}/stop"): "admin",
    ("POST", "/v1/experiments/{key:str}/conclude"): "admin",
    ("POST", "/v1/experiments/{key:str}/costs"): "admin",
    ("GET", "/v1/experiments/{key:str}/costs"): "read",
    ("POST", "/v1/experiments/{key:str}/assignments"): "assign",
    ("POST", "/v1/experiments/{key:str}/assignments/import"): "admin",
    ("GET", "/v1/experiments/{key:str}/assignments/{customer_id:str}"): "read",
    ("POST", "/v1/events"): "assign",
    ("GET", "/v1/experiments/{key:str}/results"): "read",
    ("GET", "/v1/experiments/{key:str}/timeseries"): "read",
    ("GET", "/v1/experiments/{key:str}/decisions"): "read",
    ("POST", "/v1/analyze"): "read",
    ("POST", "/v1/plan"): "read",
    ("GET", "/v1/reports"): "read",
    ("POST", "/v1/reports"): "admin",
    ("GET", "/v1/reports/weekly"): "read",
    ("GET", "/v1/reports/{week:str}"): "read",
    ("DELETE", "/v1/customers/{customer_id:str}"): "admin",
    ("GET", "/v1/audit"): "admin",
    ("GET", "/v1/channels"): "read",
    ("POST", "/v1/channels"): "admin",
    ("GET", "/v1/channels/{key:str}"): "read",
    ("PATCH", "/v1/channels/{key:str}"): "admin",
    ("POST", "/v1/channels/{key:str}/start"): "admin",
    ("POST", "/v1/channels/{key:str}/stop"): "admin",
    ("POST", "/v1/channels/{key:str}/eligibility"): "assign",
    ("POST", "/v1/channels/{key:str}/costs"): "admin",
    ("GET", "/v1/channels/{key:str}/results"): "read",
    ("POST", "/v1/geo-metrics"): "assign",
    ("POST", "/v1/experiments/{key:str}/design"): "admin",
}
CREDENTIALS = ["none", "bad", "revoked", "admin", "read", "assign"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = str(tmp_path_factory.mktemp("auth") / "p.db")
    return {"db": db, "secrets": credentials(db, T0)}


@pytest.fixture(scope="module")
def api(keys: dict[str, Any]) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=keys["db"], clock=SimulatedClock(T0))
    with TestClient(create_app(settings)) as client:
        yield client


def _routes(client: TestClient[Any]) -> set[tuple[str, str]]:
    return {
        (m, r.path)
        for r in client.app.routes
        for m in getattr(r, "methods", ())
        if m not in ("OPTIONS", "HEAD")
    }


def _concrete(path: str) -> str:
    values = {"key": "sms", "customer_id": "c1", "week": "2026-W46", "path": "openapi.yaml",
              "file_path": "swagger-ui.css"}  # fmt: skip
    return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], path)


def test_every_route_is_in_the_scope_table(api: TestClient[Any]) -> None:
    assert _routes(api) == set(NEEDS)


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_scope_matrix(api: TestClient[Any], keys: dict[str, Any], credential: str) -> None:
    headers = {} if credential == "none" else {
        "Authorization": f"Bearer {keys['secrets'][credential]}"
    }  # fmt: skip
    wrong = []
    for (method, path), needed in sorted(NEEDS.items()):
        status = api.request(method, _concrete(path), headers=headers, json={}).status_code
        if needed == "public":
            expected_ok = True
        elif credential in ("none", "bad", "revoked"):
            if status != 401:
                wrong.append((method, path, status, 401))
            continue
        else:
            expected_ok = credential == "admin" or credential == needed
        if expected_ok and status in (401, 403):
            wrong.append((method, path, status, "not 401/403"))
        if not expected_ok and status != 403:
            wrong.append((method, path, status, 403))
        assert status < 500, (method, path, status)
    assert wrong == []


def test_error_bodies_say_what_to_do(api: TestClient[Any], keys: dict[str, Any]) -> None:
    r = api.get("/v1/experiments")
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    r = api.get(
        "/v1/experiments", headers={"Authorization": f"Bearer {keys['secrets']['revoked']}"}
    )
    assert r.json()["detail"] == "The API key 'old' was revoked."
    r = api.post("/v1/events", json={},
                 headers={"Authorization": f"Bearer {keys['secrets']['read']}"})  # fmt: skip
    assert r.status_code == 403 and "needs 'assign'" in r.json()["detail"]


def test_open_mode_only_without_keys_and_on_loopback(tmp_path: Path) -> None:
    db = str(tmp_path / "open.db")
    with TestClient(create_app(Settings(database_url=db))) as client:
        assert client.get("/v1/experiments").status_code == 200
    with TestClient(create_app(Settings(database_url=db, bind_host="0.0.0.0"))) as client:
        r = client.get("/v1/experiments")
        assert r.status_code == 401 and "pilotlift keys create" in r.json()["detail"]
        assert client.get("/health").status_code == 200


def test_audit_trail_records_admin_changes_with_the_key_name(
    api: TestClient[Any], keys: dict[str, Any]
) -> None:
    admin = {"Authorization": f"Bearer {keys['secrets']['admin']}"}
    body = {"key": "audited", "name": "A", "channel": "sms", "holdout_share": 0.5,
            "variants": [{"key": "a"}], "min_lift": 0.05}  # fmt: skip
    assert api.post("/v1/experiments", json=body, headers=admin).status_code == 201
    api.patch("/v1/experiments/audited", json={"name": "B"}, headers=admin)
    api.post("/v1/experiments/audited/start", headers=admin)
    api.post("/v1/experiments/audited/stop", headers=admin)
    api.post("/v1/experiments/audited/conclude", json={"decision": "stop", "note": "n"},
             headers=admin)  # fmt: skip
    entries = api.get("/v1/audit", headers=admin).json()["entries"]
    mine = [(e["actor"], e["action"]) for e in reversed(entries) if e["target"] == "audited"]
    assert mine == [("admin-key", "pilot.create"), ("admin-key", "pilot.patch"),
                    ("admin-key", "pilot.start"), ("admin-key", "pilot.stop"),
                    ("admin-key", "pilot.conclude")]  # fmt: skip
    keys_log = [(e["action"], e["target"]) for e in entries if e["action"].startswith("key.")]
    assert ("key.revoke", "old") in keys_log and ("key.create", "read-key") in keys_log
    patch = next(e for e in entries if e["action"] == "pilot.patch")
    assert patch["change"] == {"name": "B"}
    read = {"Authorization": f"Bearer {keys['secrets']['read']}"}
    assert api.get("/v1/audit", headers=read).status_code == 403


def test_keys_cli_shows_the_secret_once_and_lists_without_it(tmp_path: Path) -> None:
    env = {"PILOTLIFT_DATABASE_URL": str(tmp_path / "cli.db"), "PATH": ""}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "service.cli", "keys", *args], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    created = run("create", "--scope", "read", "--name", "analyst")
    secret = created.stdout.strip()
    assert created.returncode == 0 and re.fullmatch(r"plk_[A-Za-z0-9_-]{43}", secret)
    listed = run("list").stdout
    assert "analyst\tread\t" + secret[:10] in listed and secret not in listed
    assert run("create", "--scope", "read", "--name", "analyst").returncode == 1
    assert run("revoke", "analyst").returncode == 0
    assert "revoked" in run("list").stdout
    engine = create_storage_engine(env["PILOTLIFT_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalar_one()
    assert secret not in stored and len(stored) == 64


def test_serve_refuses_to_run_open_off_loopback(tmp_path: Path) -> None:
    env = {"PILOTLIFT_DATABASE_URL": str(tmp_path / "serve.db"), "PATH": ""}
    r = subprocess.run([sys.executable, "-m", "service.cli", "serve", "--host", "0.0.0.0"],
                       env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "refusing to serve on 0.0.0.0" in r.stderr
    assert "pilotlift keys create --scope admin" in r.stderr
