"""The API docs page without internet: ``/schema/swagger`` of a real ``pilotlift serve`` in
headless Chromium, every request that would leave 127.0.0.1 aborted and recorded; Swagger UI
must still render every operation, from files this server serves. The asset route is public,
the page and the document keep needing a key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar.testing import TestClient
from playwright.sync_api import Route, sync_playwright

from service.admin.keys import create_key
from service.app import create_app
from service.settings import Settings
from service.storage.engine import create_storage_engine, migrate
from service.testing import ServerProcess

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("swagger") / "p.db")
    proc.start()
    yield proc
    proc.stop()


def test_swagger_ui_renders_without_leaving_the_machine(
    server: ServerProcess, tmp_path: Path
) -> None:
    outside: list[str] = []
    local: list[str] = []
    errors: list[str] = []

    def only_local(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            local.append(url)
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", only_local)
        response = page.goto(f"{server.url}/schema/swagger", wait_until="networkidle")
        assert response is not None and response.status == 200
        page.wait_for_selector(".opblock", timeout=30_000)
        operations = page.locator(".opblock")
        assert operations.count() >= 20
        # Swagger UI names each block by tag and operationId; opened, it lists the answers.
        ingest = page.locator("#operations-events-ingestEvents")
        assert ingest.count() == 1
        ingest.locator(".opblock-summary-control").click()
        ingest.get_by_text("The Content-Type is neither JSON nor NDJSON.").wait_for(timeout=10_000)
        assert page.locator(".information-container .title").inner_text().startswith("pilotlift")
        shot = tmp_path / "swagger-ui.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert outside == []
    assert errors == []
    assert any(u.endswith("/schema/assets/swagger-ui-bundle.js") for u in local)
    assert any(u.endswith("/schema/assets/swagger-ui.css") for u in local)
    assert shot.stat().st_size > 10_000


def test_the_page_names_no_other_host(server: ServerProcess) -> None:
    page = httpx.get(f"{server.url}/schema/swagger").text
    assert "http://" not in page.split("<body>")[0] and "https://" not in page.split("<body>")[0]
    assert httpx.get(f"{server.url}/schema/redoc").status_code == 404  # Redoc is gone


def test_assets_are_public_and_nothing_else_is(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.db")
    engine = create_storage_engine(db)
    migrate(engine)
    secret, _ = create_key(engine, scope="read", name="reader", now=datetime.now(UTC))
    engine.dispose()
    bearer: dict[str, Any] = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(Settings(database_url=db))) as client:
        asset = client.get("/schema/assets/swagger-ui-bundle.js")
        assert asset.status_code == 200 and "SwaggerUIBundle" in asset.text[:2000]
        assert "max-age" in asset.headers["cache-control"]
        assert client.head("/schema/assets/swagger-ui.css").status_code == 200
        assert client.get("/schema/assets/missing.js").status_code == 404
        for guarded in ("/schema/swagger", "/schema/openapi.json", "/schema", "/v1/experiments"):
            assert client.get(guarded).status_code == 401, guarded
            assert client.get(guarded, headers=bearer).status_code == 200, guarded
        paths = client.get("/schema/openapi.json", headers=bearer).json()["paths"]
        assert not any(p.startswith("/schema") for p in paths)
