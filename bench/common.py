"""What every benchmark shares: its command line, the timer, peak memory measured in a fresh process, the table."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Case:
    """One row of a benchmark table: `make` builds the input, `ours` is timed (median of `repeats`), `baseline`
    is the straightforward method measured in the same run (the stability benchmark's returns its own ms)."""

    name: str
    size: str
    goal_ms: float | None
    make: Callable[[], Any]
    ours: Callable[[Any], object]
    baseline: Callable[[Any], object] | None
    baseline_name: str
    repeats: int = 5
    memory_goal_mb: float | None = None
    measure_memory: bool = False

    @property
    def measures_memory(self) -> bool:
        return self.measure_memory or self.memory_goal_mb is not None


def arguments(doc: str | None, quick_help: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls, in ms."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_growth_mb(fn: Callable[[], object]) -> tuple[float, float]:
    """(ms, growth of the peak resident set in MB) of one call: the peak (VmHWM) is reset just before it."""
    before = rss_mb("VmRSS:")
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000, rss_mb("VmHWM:") - before


def in_fresh_process(target: Callable[..., None], *args: Any) -> Any:
    """Run target(*args, queue) in a spawned process and return what it put on the queue."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def print_table(rows: list[dict[str, Any]], *, case_width: int, size_width: int, goal_format: str) -> None:
    """The benchmark table: case, size, ours, goal, baseline (ms), ratio, peak MB when any row measured memory, met,
    the baseline's name; a row's "note", when it has one, goes on the line below."""
    memory = any("peak_mb" in r for r in rows)

    def cell(value, fmt: str, suffix: str = "") -> str:
        return "" if value is None else format(value, fmt) + suffix

    header = (f"{'case':{case_width}} {'size':>{size_width}} {'ours ms':>10} {'goal ms':>8} {'baseline ms':>12} "
              f"{'ratio':>8}{' ' + format('peak MB', '>8') if memory else ''}  met  baseline")
    print(header)
    print("-" * len(header))
    for r in rows:
        met = "" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "NO")
        peak = f" {cell(r.get('peak_mb'), '.1f'):>8}" if memory else ""
        print(f"{r['case']:{case_width}} {r['size']:>{size_width}} {cell(r['ours_ms'], '.2f'):>10} "
              f"{cell(r['goal_ms'], goal_format):>8} {cell(r['baseline_ms'], '.1f'):>12} "
              f"{cell(r['ratio'], '.1f', '×'):>8}{peak}  {met:3}  {r['baseline']}")
        if r.get("note"):
            print(f"{'':{case_width}} {r['note']}")
