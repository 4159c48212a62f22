"""``GET /`` answers each kind of client in its own terms."""

from tests.web.console import BROWSER_ACCEPT


def test_an_api_client_asking_json_gets_the_index(anon):
    response = anon.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.is_json
    links = response.get_json()["links"]
    assert links["docs"] == "/api/v1/docs" and links["console"] == "/login"


def test_curl_gets_the_japanese_index_page(anon):
    response = anon.get("/", headers={"Accept": "*/*"})
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'lang="ja"' in html and "/api/v1/docs" in html and "/login" in html


def test_a_browser_gets_the_console(anon):
    response = anon.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 302 and response.location == "/login"
