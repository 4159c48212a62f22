"""The shape of the code holds: layers point one way, pure code stays pure, no import cycles.

Runs the import-linter contracts of pyproject.toml ([tool.importlinter]), the same ones
`lint-imports` checks, so a cycle or an upward import fails the suite with the linter's report.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ("import sys; from importlinter.cli import lint_imports; "
       "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def test_the_import_contracts_are_kept():
    done = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "0 broken" in report, report
