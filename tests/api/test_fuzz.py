"""The whole OpenAPI document, fuzzed: no input may cause a server error or an undocumented answer.

Every operation is exercised with generated requests (staff operations with an admin token,
partner operations with a partner's token), on both backends. Schemathesis's pytest plugin
does not run under this pytest, so the operations are driven through Hypothesis directly.
"""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance]


def token_for(path: str, tokens: dict) -> str | None:
    if path.startswith("/api/v1/partner/"):
        return tokens["partner:houkatsu"]
    if path.startswith("/api/v1/ack/"):
        return None
    return tokens["admin"]


def fuzz(operation, tokens, examples: int) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        token = token_for(case.path, tokens)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_no_operation_answers_with_a_server_error_or_off_schema(app, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, count = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        count += 1
        try:
            fuzz(operation, tokens, examples=12)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect all, so one run shows every broken operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert count >= 30
    assert failures == [], "\n\n".join(failures)
