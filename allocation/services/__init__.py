"""Allocation use cases (DESIGN §5): runs from start to schedule, comparisons, explanations, pre-assignments.

The only place that knows both worlds: it loads the ORM into the pure core's Problem (allocation.problem), calls a
strategy from the registry, and writes the result back in one transaction. Views, the API, admin, tasks and commands
import from here.
"""

from allocation.problem import (
    COMMON_OPTIONS,
    NON_RESPONDENT_POLICIES,
    YearProblem,
    mechanism_options,
    run_fingerprint,
    year_problem,
)
from allocation.services.comparisons import comparison_start
from allocation.services.coverage import COVERAGE_KEYS, ScheduleCoverage, schedule_coverage
from allocation.services.explanations import assignment_explain
from allocation.services.infeasibility import infeasibility_hints, infeasible_message, option_causes
from allocation.services.options import (
    RESERVED_OPTIONS,
    mechanism_clean,
    options_clean,
    options_probe,
)
from allocation.services.preassignments import (
    preassignment_add,
    preassignment_remove,
    preassignment_validate,
    slot_capacity,
)
from allocation.services.results import (
    MAX_DETAIL_ITEMS,
    assignment_mechanism_data,
    result_details,
    schedule_save,
    vcg_payment_rows,
)
from allocation.services.runs import (
    PENDING_STALE_AFTER,
    PROGRESS_DONE,
    PROGRESS_LOADING,
    PROGRESS_SAVING,
    PROGRESS_SOLVING,
    RUN_SOFT_TIME_LIMIT_S,
    RUN_TIME_LIMIT_S,
    STALE_AFTER,
    allocation_run_cancel,
    allocation_run_execute,
    allocation_run_fail,
    allocation_run_start,
)

__all__ = [
    "COVERAGE_KEYS", "COMMON_OPTIONS", "MAX_DETAIL_ITEMS", "NON_RESPONDENT_POLICIES", "PENDING_STALE_AFTER",
    "PROGRESS_DONE", "PROGRESS_LOADING", "PROGRESS_SAVING", "PROGRESS_SOLVING", "RESERVED_OPTIONS",
    "RUN_SOFT_TIME_LIMIT_S", "RUN_TIME_LIMIT_S", "STALE_AFTER", "ScheduleCoverage", "YearProblem",
    "allocation_run_cancel", "allocation_run_execute", "allocation_run_fail", "allocation_run_start",
    "assignment_explain", "assignment_mechanism_data", "comparison_start", "infeasibility_hints",
    "infeasible_message", "mechanism_clean", "mechanism_options", "option_causes", "options_clean", "options_probe",
    "preassignment_add", "preassignment_remove", "preassignment_validate", "result_details", "run_fingerprint",
    "schedule_coverage", "schedule_save", "slot_capacity", "vcg_payment_rows", "year_problem",
]
