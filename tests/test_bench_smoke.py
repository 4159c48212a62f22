"""Benchmarks are not tests; this only checks that `python -m bench --quick` still starts."""

import subprocess
import sys
from pathlib import Path

from tests import logscan

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_starts_and_prints_its_table():
    proc = subprocess.Popen([sys.executable, "-m", "bench", "--quick", "--only", "routing"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=120)
        with logscan.output("bench") as log:
            log.write(output.encode())
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = output.splitlines()
    assert proc.returncode == 0, output[-2000:]
    assert lines[1].startswith("benchmark") and "floor" in lines[1] and "ratio" in lines[1]
    assert any(line.startswith("routing nankoku") for line in lines)
    assert lines[-1].startswith("{") and '"routing"' in lines[-1]

