"""The docs page works on a closed network: every asset it loads comes from this server."""

import json
import re
from pathlib import Path

from caseapp import PROJECT_ROOT

VENDORED = PROJECT_ROOT / "caseapp" / "static" / "swagger-ui"
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_docs_page_loads_only_assets_served_by_the_app(anon):
    page = anon.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = ASSET.findall(html)
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/"), url
        served = anon.get(url)
        assert served.status_code == 200, url
        assert len(served.data) > 1000, url
    # No validator badge fetched from swagger.io either.
    assert "https://" not in html and '"validatorUrl": null' in html


def test_the_vendored_swagger_ui_keeps_its_version_and_licence():
    package = json.loads((VENDORED / "package.json").read_text())
    assert package["name"] == "swagger-ui-dist" and package["version"].startswith("5.")
    assert "Apache License" in (VENDORED / "LICENSE").read_text()
    readme = (VENDORED / "README.md").read_text()
    assert f"`swagger-ui-dist` {package['version']}" in readme


def test_the_root_answers_a_japanese_page_linking_the_docs(anon):
    response = anon.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'lang="ja"' in html and "/api/v1/docs" in html
    assert all(Path(url).is_absolute() for url in ASSET.findall(html))
