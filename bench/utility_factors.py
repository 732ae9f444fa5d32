"""What the utility model's data factors change on the demo year (issue 15): welfare, nash_distance and the number
of blocking swaps of each mechanism's schedule, analysed with the three non-preference factors off (weights
preference = 1) and on (the defaults: 0.6 preference, 0.2 workload balance, 0.1 time-off proximity, 0.1 swap history).

Run:  .venv/bin/python -m bench.utility_factors [--json] [--seed N] [--faculty N]
Builds the demo year (with its time off and the past year's executed swaps) in a scratch SQLite database (or the
DATABASE_URL given), runs each mechanism once with the same seed, and analyses each schedule both ways. The schedules
are the same both ways: mechanisms order weeks by the preference score; time off blocks weeks in both settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

MECHANISMS = ("rsd", "least_regret", "min_cost_flow", "vcg", "probabilistic_serial")
OFF = {"preference": 1.0, "workload_balance": 0.0, "time_off_proximity": 0.0, "swap_out_rate": 0.0}
ON = {"preference": 0.6, "workload_balance": 0.2, "time_off_proximity": 0.1, "swap_out_rate": 0.1}


def _setup(database: str | None) -> None:
    if database is None:
        scratch = os.path.join(tempfile.mkdtemp(prefix="gtsched-bench-"), "db.sqlite3")
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gtsched_site.settings")
    os.environ.setdefault("GTSCHED_RUNS_IN_BACKGROUND", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(*, seed: int, faculty: int, label: int = 2027) -> list[dict]:
    from allocation.demo_history import demo_history_create
    from allocation.models import Schedule
    from allocation.problem import schedule_problem
    from allocation.services import allocation_run_execute, allocation_run_start
    from preferences.demo import demo_year_create
    from preferences.models import AcademicYear
    from stability.algorithms.report import stability_report

    year = AcademicYear.objects.filter(label=label).first()
    if year is None:
        demo_year_create(label=label, seed=seed, faculty_count=faculty)
        year = AcademicYear.objects.get(label=label)
    demo_history_create(year=year, seed=seed)
    rows = []
    for mechanism in MECHANISMS:
        year.utility_weights = {}
        year.save(update_fields=["utility_weights"])
        run, _ = allocation_run_start(year=year, mechanism=mechanism, options={}, seed=seed, actor=None, enqueue=False)
        run = allocation_run_execute(run_id=run.pk)
        row = {"mechanism": mechanism, "assignments": run.schedule.assignments.count()}
        for name, weights in (("off", OFF), ("on", ON)):
            year.utility_weights = weights
            year.save(update_fields=["utility_weights"])
            schedule = Schedule.objects.select_related("year", "run").get(pk=run.schedule.pk)  # the year as saved
            report = stability_report(schedule_problem(schedule=schedule).problem, rng=None,
                                      with_price_of_anarchy=False)
            row[f"welfare_{name}"] = round(report.current_welfare, 3)
            row[f"nash_distance_{name}"] = round(report.nash_distance, 4)
            row[f"blocking_{name}"] = report.num_blocking_swaps
        rows.append(row)
    year.utility_weights = {}
    year.save(update_fields=["utility_weights"])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faculty", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    _setup(os.environ.get("DATABASE_URL"))
    rows = measure(seed=args.seed, faculty=args.faculty)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        return
    print(f"Demo year, {args.faculty} faculty, seed {args.seed}: factors off (preference = 1) → on (defaults)")
    print(f"{'mechanism':22} {'assignments':>11} {'welfare off':>12} {'welfare on':>11} {'nash_d off':>11} "
          f"{'nash_d on':>10} {'blocking off':>13} {'blocking on':>12}")
    for r in rows:
        print(f"{r['mechanism']:22} {r['assignments']:>11} {r['welfare_off']:>12.3f} {r['welfare_on']:>11.3f} "
              f"{r['nash_distance_off']:>11.4f} {r['nash_distance_on']:>10.4f} {r['blocking_off']:>13} "
              f"{r['blocking_on']:>12}")


if __name__ == "__main__":
    main()
