"""`python -m bench` (`make bench`): the client base benchmark; see bench/README.md."""

from __future__ import annotations

import argparse
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Search, list page and XLSX import timings of the client base "
        "on SQLite and PostgreSQL.",
    )
    parser.add_argument("--clients", type=int, default=100_000, help="clients to generate")
    parser.add_argument(
        "--contacts-per-client", type=float, default=2.5, help="average contact persons"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "all"), default="all", help="databases"
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each case")
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=10.0,
        help="seconds after which one run of a case is interrupted (and the case reported so)",
    )
    parser.add_argument(
        "--case-budget",
        type=float,
        default=30.0,
        help="seconds one case may take; slower cases get fewer runs",
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before them")
    parser.add_argument("--only", choices=("search", "import"), default=None, help="one part only")
    parser.add_argument(
        "--import-rows", type=int, default=None, help="rows of the import XLSX (= --clients)"
    )
    parser.add_argument(
        "--import-timeout",
        type=float,
        default=90.0,
        help="seconds an import may run (the target); a slower one is stopped and its total "
        "time projected",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations of the import (slows it down)",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the generated databases (SQLite file, PostgreSQL schema) for inspection",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    options = parser.parse_args(argv)
    if options.import_rows is None:
        options.import_rows = options.clients
    if options.clients < 1000:
        parser.error("--clients must be at least 1000")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    from bench import clients

    started = time.perf_counter()
    print(
        f"Client base benchmark: {options.clients} clients, ~{options.contacts_per_client} "
        f"contacts each, backend {options.backend}, {options.runs} runs "
        f"(+{options.warmup} warm-up) per case",
        flush=True,
    )
    report = clients.run(options)
    table = clients.format_table(report)
    path = clients.save(report, table, started)
    print()
    print(table)
    shown = (
        path.relative_to(clients.PROJECT_ROOT)
        if path.is_relative_to(clients.PROJECT_ROOT)
        else path
    )
    print(f"\nsaved to {shown}", end="")
    if report.explain:
        print(f" (plans and statements: {path.stem}-plans.txt)", end="")
    print(f"; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
