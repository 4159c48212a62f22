"""The whole OpenAPI document, fuzzed with schemathesis 4: no input may cause a server error or an
undocumented answer, and data generated from the document is mostly accepted.

Every operation, on both backends, against a small world (so id 1 exists), in three passes:
schemathesis's coverage cases (deterministic boundary values, valid and invalid — the pass that
finds a month such as ``0000-01``), then Hypothesis fuzzing with data valid by the document and
with data the document calls invalid. Schemathesis's pytest plugin does not run under pytest 9,
so the operations are driven through its Python API.
"""

import collections

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests import logscan
from tests.api.test_openapi_access import world  # noqa: F401

CHECKS = [not_a_server_error, response_schema_conformance]
REFUSED = (400, 422)
# Operations whose valid-looking data mostly fails on what no OpenAPI 3.0 document can say: that
# a case or a partner code exists, or how two fields compare. Refused with 422 naming the field.
BEYOND_THE_DOCUMENT = {
    "POST /api/v1/referrals",  # case_id and partner must exist
    "PUT /api/v1/rules",  # a whole rule set, checked against the partner directory
    "POST /api/v1/rules/replay",  # the same: a whole rule set to try
    "POST /api/v1/consultations/{consultation_id}/team",  # partners present at that event
    "POST /api/v1/cases/{case_id}/support-meeting",  # partner codes of the directory
    "POST /api/v1/events",  # partners of the directory; starts_at on date, ends_at after it
    "POST /api/v1/watch",  # the client and the area must exist; the basis fields its kind needs
    "POST /api/v1/meetings",  # an area of the tree; members of that area
}


def token_for(path: str, tokens: dict) -> str | None:
    if path.startswith("/api/v1/partner/"):
        return tokens["partner:houkatsu"]
    if path.startswith("/api/v1/ack/"):
        return None
    return tokens["admin"]


def _summary(exc: BaseException) -> str:
    """The check that failed, what it saw, and the request that reproduces it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    keep = [line for line in lines if line.startswith(("- ", "curl ", "["))]
    return " | ".join(keep or lines[:3])[:1500]


class Run:
    def __init__(self, tokens):
        self.tokens = tokens
        self.failures: list[str] = []
        self.answers: dict[str, collections.Counter] = collections.defaultdict(
            collections.Counter)

    def call(self, operation, case, mode: GenerationMode) -> None:
        token = token_for(case.path, self.tokens)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect all, so one run shows every broken operation
            self.failures.append(f"{operation.label} ({mode.value}): {_summary(exc)}")
            return
        if mode is GenerationMode.POSITIVE:
            self.answers[operation.label][response.status_code in REFUSED] += 1

    def coverage(self, schema, operation) -> None:
        config = schema.config.generation_for(operation=operation)
        for case in schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode),
                                               generation_config=config):
            self.call(operation, case, case._meta.generation.mode)

    def fuzz(self, operation, mode: GenerationMode, examples: int) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            self.call(operation, case, mode)

        try:
            run()
        except Exception as exc:  # the document cannot be turned into data at all
            self.failures.append(f"{operation.label} ({mode.value}): {_summary(exc)}")

    def refused_mostly(self) -> dict[str, str]:
        out = {}
        for label, counts in self.answers.items():
            total = counts[True] + counts[False]
            if label not in BEYOND_THE_DOCUMENT and counts[True] > total / 2:
                out[label] = f"{counts[True]} of {total} refused"
        return out


def test_every_operation_survives_schemathesis_and_accepts_what_its_document_allows(
        app, tokens, world):  # noqa: F811
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    run, count = Run(tokens), 0
    with logscan.generated_data():
        for result in schema.get_all_operations():
            operation = result.ok()
            count += 1
            run.coverage(schema, operation)
            run.fuzz(operation, GenerationMode.POSITIVE, examples=10)
            run.fuzz(operation, GenerationMode.NEGATIVE, examples=5)
    assert count >= 50
    assert run.failures == [], "\n\n".join(run.failures)
    assert run.refused_mostly() == {}


def test_the_documented_constraints_name_schemas_that_exist(app):
    from caseapp.api import openapi

    spec = app.test_client().get("/api/v1/openapi.json").json
    names = set(spec["components"]["schemas"])
    assert set(openapi.SCHEMAS) <= names
    assert {schema for schema, _field in openapi.FIELDS} <= names
