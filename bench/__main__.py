"""One command for every benchmark: ``python -m bench [--quick] [--only NAME ...]``.

Each benchmark runs its floor (the bare stack doing the least the job needs) and caseapp in
the same run, because this machine is shared and noisy: only ratios measured side by side
mean anything. A readable table comes first; the last line is one JSON object with every
figure, so runs can be compared.
"""

import argparse
import json
import logging
import platform
import sys
import time
from datetime import UTC, datetime


def _intake(quick):
    from bench import intake_bench

    r = intake_bench.run(quick)
    return [("intake", "req/s (16 clients)", r["floor"]["rps"], r["caseapp"]["rps"], r["ratio"],
             "≥ 0.25, p99 ≤ 3×floor",
             r["ratio"] >= 0.25 and r["caseapp"]["p99_ms"] <= 3 * r["floor"]["p99_ms"],
             f"p50 {r['caseapp']['p50_ms']} ms, p99 {r['caseapp']['p99_ms']} ms "
             f"(floor p99 {r['floor']['p99_ms']} ms); server CPU/request "
             f"{r['caseapp']['server_cpu_ms']} ms (floor {r['floor']['server_cpu_ms']} ms)")], r


def _routing(quick):
    from bench import rules_bench
    from caseapp.rules import NANKOKU_PARTNERS, compile_ruleset

    r = rules_bench.run(quick)
    # The floor: the engine's fixed cost, a rule set holding only the catch-all rule.
    only_fallback = compile_ruleset({"rules": [{
        "id": "fallback", "fallback": True,
        "then": {"action": "refer", "partners": ["jiritsu"], "method": "intro_letter",
                 "reason": "受け止めます"}}]}, NANKOKU_PARTNERS)
    floor = rules_bench.measure(only_fallback, rules_bench.make_subjects(100), 5)["median_us"]
    rows = []
    for name in ("nankoku", "generated_1000"):
        x = r[name]
        rows.append((f"routing {name}", "median µs/evaluation", floor, x["median_us"],
                     round(floor / x["median_us"], 3), f"≤ {x['target_us']:.0f} µs", x["ok"],
                     f"{x['rules']} rules, p95 {x['p95_us']} µs"))
    return rows, {**r, "floor_median_us": floor}


def _delivery(quick):
    from bench import delivery_bench

    r = delivery_bench.run(quick, postgres=True)
    return [("delivery", f"deliveries/s ({r['broker']})", r["bare_celery_post_per_s"],
             r["caseapp_per_s"], r["ratio"], "≥ 0.5", r["ratio"] >= 0.5,
             f"{r['deliveries']} deliveries, {r['database']}; worker CPU/delivery "
             f"{r['caseapp_worker_cpu_ms']} ms (floor {r['bare_worker_cpu_ms']} ms)")], r


def _sweep(quick):
    from bench import reminders_bench

    r = reminders_bench.run(quick)
    small, large = r["sizes"][0], r["sizes"][-1]
    return [("sweep", f"due query ms, {small['rows']:,} vs {large['rows']:,} rows",
             small["due_ms"], large["due_ms"], r["ratio_wall"], f"≤ {r['goal_ratio']}× growth",
             r["ok"], f"server time ratio {r['ratio_exec']}×, index used: "
             f"{all(s['index'] for s in r['sizes'])}"),
            ("sweep send", "ms per reminder sent (batches of 50)", "-",
             large["sweep_ms_per_reminder"], "-", "≤ 2 ms", large["sweep_ms_per_reminder"] <= 2,
             f"{large['sweep_sent']} sent at {large['rows']:,} rows")], r


def _search(quick):
    from bench import search_bench

    r = search_bench.run(quick, sqlite=False)["postgresql"]
    return [("search", f"p95 ms, {r['clients']:,} clients (PostgreSQL)", r["floor_p95_ms"],
             r["p95_ms"], round(r["floor_p95_ms"] / r["p95_ms"], 3) if r["p95_ms"] else None,
             "≤ 20 ms", r["ok"], f"p50 {r['p50_ms']} ms; search alone p95 "
             f"{r['search_p95_ms']} ms, audit commit p95 {r['commit_p95_ms']} ms")], r


def _report(quick):
    from bench import report_bench

    r = report_bench.run(quick)
    return [("report", f"s, {r['report_rows']:,} consultations", r["report_floor_s"],
             r["report_s"], r["report_ratio"], "≤ 1 s at 1M", r["report_s"] <= 1.0
             if r["report_rows"] >= 1_000_000 else None,
             f"closed months from the rollup; all from base tables {r['report_base_s']} s, "
             f"rollup build {r['rollup_build_s']} s")], r


def _scope(quick):
    from bench import scope_bench

    r = scope_bench.run(quick)
    return [(f"scope {op}", "median ms, unscoped vs scoped", x["unscoped_ms"], x["scoped_ms"],
             x["ratio"], "≥ 0.9", x["ratio"] >= 0.9,
             f"{r['towns']} towns × {r['clients_per_town']:,} clients, {x['samples']} pairs")
            for op, x in r["operations"].items()], r


BENCHMARKS = {"intake": _intake, "routing": _routing, "delivery": _delivery, "sweep": _sweep,
              "search": _search, "report": _report, "scope": _scope}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and shorter runs (under two minutes on 2 cores)")
    parser.add_argument("--only", nargs="*", choices=list(BENCHMARKS), default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    names = args.only or list(BENCHMARKS)
    header = (f"{'benchmark':<24}{'metric':<36}{'floor':>10}{'caseapp':>10}{'ratio':>8}  "
              f"{'goal':<22}{'ok':<5}notes")
    print(f"caseapp benchmarks, {'quick' if args.quick else 'full'} mode, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
          f"({platform.machine()}, Python {platform.python_version()})", flush=True)
    print(header)
    print("-" * len(header), flush=True)
    figures: dict = {"mode": "quick" if args.quick else "full",
                     "date": datetime.now(UTC).isoformat(timespec="seconds")}
    failed = []
    for name in names:
        started = time.monotonic()
        try:
            rows, raw = BENCHMARKS[name](args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            print(f"{name:<24}failed: {exc.__class__.__name__}: {exc}", flush=True)
            figures[name] = {"error": f"{exc.__class__.__name__}: {exc}"}
            continue
        for label, metric, floor, ours, ratio, goal, ok, notes in rows:
            verdict = "-" if ok is None else ("yes" if ok else "NO")
            print(f"{label:<24}{metric:<36}{floor:>10}{ours:>10}{ratio!s:>8}  {goal:<22}"
                  f"{verdict:<5}{notes}", flush=True)
        figures[name] = {**raw, "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps(figures, ensure_ascii=False, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
