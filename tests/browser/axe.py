"""axe-core on the page in the browser (axe-playwright-python ships axe-core: nothing fetched)."""

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()
SEVERE = {"serious", "critical"}


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = _AXE.run(page).response["violations"]
    severe = [v for v in violations if v.get("impact") in SEVERE]
    assert not severe, "axe-core on {}:\n{}".format(page.url, "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — "
        f"{[node['target'] for node in v['nodes']][:5]}" for v in severe))
