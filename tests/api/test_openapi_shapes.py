"""Shapes the OpenAPI document promises across resources, read from the document itself so a
new endpoint is held to them the day it is added."""

import warnings

from caseapp import create_app
from tests.conftest import make_config

PAGE = {"items", "page", "per_page", "total"}


def spec_of(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").json


def test_every_listing_answers_with_the_one_page_shape(app):
    spec = spec_of(app)
    schemas = spec["components"]["schemas"]
    listings = []
    for path, methods in spec["paths"].items():
        get = methods.get("get") or {}
        query = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        if not {"page", "per_page"} <= query:
            continue
        ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(schemas[ref.rsplit("/", 1)[1]]["properties"]) == PAGE, path
        listings.append(path)
    assert len(listings) >= 11, listings


def test_each_view_of_the_staff_referral_is_a_component_of_its_own(tmp_path):
    with warnings.catch_warnings():
        # apispec renames (and warns) when two different schemas resolve to one name.
        warnings.filterwarnings("error", message="Multiple schemas resolved")
        app = create_app(make_config(f"sqlite:///{tmp_path / 'spec.sqlite3'}", tmp_path))
        schemas = spec_of(app)["components"]["schemas"]
    brief, loop, delivery = (set(schemas[f"StaffReferral{view}"]["properties"])
                             for view in ("Brief", "Loop", "Delivery"))
    assert brief < loop and brief < delivery
    assert {"history", "deliveries", "disclosures"} <= delivery - loop
    assert {"overdue", "ack_due_at", "handled_at", "handled_note"} <= loop - delivery
