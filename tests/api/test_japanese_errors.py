"""Every message of a problem is Japanese (English may follow); titles per status."""

import re

import pytest
from marshmallow import ValidationError, class_registry, fields, validate

from caseapp.api import errors
from caseapp.api.schemas.common import ViewSchema
from tests.helpers import EXAMPLE, assert_problem

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def field_messages(field, path):
    """(path, message) for each message a field (and what it holds) can give."""
    for key, message in field.error_messages.items():
        yield f"{path}:{key}", message
    for validator in field.validators:
        name = f"{path}:{type(validator).__name__}"
        if getattr(validator, "error", None):
            yield name, validator.error
            continue
        for attr in ("message_min", "message_max", "message_all", "message_equal",
                     "default_message"):
            if hasattr(validator, attr):
                yield f"{name}.{attr}", getattr(validator, attr)
    inner = getattr(field, "inner", None) or getattr(field, "value_field", None)
    if inner is not None:
        yield from field_messages(inner, f"{path}[]")


def test_every_field_and_validator_of_every_schema_speaks_japanese(app):
    english, checked = [], 0
    for name, classes in class_registry._registry.items():
        for schema_class in classes:
            if "." in name or not schema_class.__module__.startswith("caseapp."):
                continue
            # A resource shown through views is built for one of them; any will do here.
            if issubclass(schema_class, ViewSchema):
                if not schema_class.VIEWS:
                    continue  # the base class, no fields of its own
                schema = schema_class(view=next(iter(schema_class.VIEWS)))
            else:
                schema = schema_class()
            for key, message in schema.error_messages.items():
                checked += 1
                if not JAPANESE.search(message):
                    english.append(f"{name}:{key}: {message}")
            for field_name, field in schema_class._declared_fields.items():
                for where, message in field_messages(field, f"{name}.{field_name}"):
                    checked += 1
                    if not JAPANESE.search(message):
                        english.append(f"{where}: {message}")
    assert checked > 500
    assert english == []


def test_library_defaults_are_japanese_with_the_english_after():
    assert JAPANESE.search(fields.Integer().error_messages["invalid"])
    assert "Not a valid integer." in fields.Integer().error_messages["invalid"]
    assert JAPANESE.search(validate.OneOf(["a", "b"]).error)
    with pytest.raises(ValidationError) as refused:
        validate.OneOf(["a", "b"])("c")
    assert JAPANESE.search(str(refused.value)) and "a, b" in str(refused.value)
    assert JAPANESE.search(validate.Range(min=1).message_min)


def test_a_bad_intake_answers_every_field_in_japanese(api):
    body = {**EXAMPLE, "channel": "fax", "urgency": 3, "topics": "debt", "summary": None,
            "unexpected": 1, "event_id": "x",
            "client": {"name": "", "sex": "n", "birth_date": 12},
            "consent": {"scope": "network", "given_at": "2026-11-27T10:00:00"}}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert JAPANESE.search(problem["title"])
    keys = {"channel", "urgency", "topics", "summary", "unexpected", "event_id", "client.name",
            "client.sex", "client.birth_date", "consent.method", "consent.given_at"}
    assert keys <= set(problem["errors"]), problem["errors"]
    english = {k: m for k, ms in problem["errors"].items() for m in ms if not JAPANESE.search(m)}
    assert english == {}


def test_query_arguments_answer_in_japanese(api):
    problem = assert_problem(api.get("/api/v1/cases", query_string={"page": "0", "lost": "x"}),
                             422)
    assert set(problem["errors"]) == {"page", "lost"}
    assert all(JAPANESE.search(m) for ms in problem["errors"].values() for m in ms)


def test_one_japanese_title_for_each_status(api, anon):
    answers = [
        api.post("/api/v1/consultations", data="{", content_type="application/json"),
        anon.get("/api/v1/cases"),
        api.as_(None).get("/api/v1/cases", headers={"Authorization": "Bearer cat_nope"}),
        api.get("/api/v1/audit"),
        api.get("/api/v1/cases/999999"),
        api.get("/api/v1/nowhere"),
        api.put("/api/v1/consultations", json={}),
        api.post("/api/v1/consultations", json={"channel": "fax"}),
        api.post("/api/v1/consultations", json={**EXAMPLE, "client_id": 999999,
                                                "client": None}),
        api.post("/api/v1/consultations", data="x" * (2 * 1024 * 1024),
                 content_type="application/json"),
    ]
    seen = {}
    for response in answers:
        body = response.json
        assert response.mimetype == "application/problem+json", response.status_code
        assert body["title"] == errors.title(response.status_code)
        assert JAPANESE.search(body["title"]) and JAPANESE.search(body["detail"]), body
        seen.setdefault(response.status_code, set()).add(body["title"])
    assert set(seen) >= {400, 401, 403, 404, 405, 413, 422}
    assert all(len(titles) == 1 for titles in seen.values())
