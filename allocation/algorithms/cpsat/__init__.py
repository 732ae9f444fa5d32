"""CP-SAT allocation (OR-Tools CP-SAT): the shared assignment plus the side constraints min-cost flow cannot express.

The package holds one mechanism, cut along its stages: ``options`` (validation), ``schedule`` (what a full schedule
scores and whether it is valid), ``relaxation`` (the exact flow relaxation and the first restricted model), ``model``
(the CP-SAT model and its side constraints), ``levels`` (the lexicographic levels, fairness tiers solved in runs),
``finish`` (tie-break and best known schedule) and ``solve`` (the entry point :func:`cp_sat`, re-exported here).

Model (DESIGN §5): one Boolean x[i,w,r] per eligible (faculty, week, rotation) triple; at most one slot per
faculty per week; Σ x[i,·,·] ≤ d_i; Σ x[·,w,r] ≤ c_{w,r}; pre-assignments fixed to 1. Optional hard constraints:
at most k major-holiday weeks per person, no service in consecutive weeks (hard, or soft with a penalty), paired
faculty who serve exactly the same weeks, per-faculty per-rotation quotas.

The objective is lexicographic, solved as a sequence of CP-SAT solves; each level fixes the previous optimum as a
constraint and is hinted with the previous solution:

1. always first minimise unassigned demand Σd − Σx;
2. ``objective="regret"``: minimise Σ cost(rank − 1) (+ the back-to-back penalties when soft);
   ``objective="fairness"``: profile-based optimality over the ranks that occur —
   ``greedy`` maximises the number of first choices, then of second choices, … (lexicographically maximum
   profile); ``generous`` minimises the worst rank used, then the number at that rank, then at the next worse
   rank, … (lexicographically minimum reverse profile). The two readings are those of R. W. Irving, "Greedy
   matchings", Univ. of Glasgow TR-2003-136 (2003), and A. Kwanashie, R. W. Irving, D. F. Manlove, C. T. S. Sng,
   "Profile-based optimal matchings in the Student/Project Allocation problem", IWOCA 2014, LNCS 8986; with soft
   back-to-back the occurrences are minimised last.

Relaxation. First the same problem without the side constraints is solved exactly by flows (least regret, or a
lexicographic min-cost flow over the rank tiers). Its optimum bounds every level; when it meets the side
constraints it *is* the optimum and no CP-SAT solve runs. Otherwise its values bound the levels of the full model,
and fairness tiers are optimised a run at a time: one weighted solve whose weights make it lexicographic.

Speed. CP-SAT's presolve and LP are slow on the full model (1,000 × 50 is 45,000 Booleans: seconds per level), so
the solve starts on a *restricted relaxation*: each faculty member keeps the triples up to the worst rank among
their listed weeks, their hint and pre-assigned weeks, and gets one "wildcard" integer standing for all their other
weeks — no capacity, no side constraints, counted at their best excluded rank (cost, tier). Every full solution
maps to a restricted one that is at least as good at every level (excluded weeks become wildcards: same count,
ranks no worse, constraints only looser), so the restricted optimum is at least as good as the full optimum; when it
uses no wildcard it is a full solution, hence a full optimum. Otherwise the faculty whose wildcards were used get
all their triples and the model is solved again (at most ``_ROUNDS`` restricted rounds, then the full model).

Finish. Search workers race, so tied optima differ from run to run: a proven optimum is made canonical by one more
solve on the full model (every level fixed, seeded random weights minimised; see ``_tie_break``). A sequence cut
short by the time limit returns the best full schedule known — a round's solution without its wildcards, the same
completed by least regret in the capacity left, or the hint — with status "feasible"; "infeasible" means proven
infeasible, or (with that ``reason``) that no valid schedule was known by the deadline.
"""

from allocation.algorithms.cpsat.options import (
    BACK_TO_BACK,
    BACK_TO_BACK_PENALTY_MAX,
    COSTS,
    FAIRNESS,
    MECHANISM,
    OBJECTIVES,
    QUOTA_KEYS,
    TIME_LIMIT_MAX_S,
    WEEK_COUNT_MAX,
    WORKERS_MAX,
)
from allocation.algorithms.cpsat.schedule import back_to_back_count, regret_cost
from allocation.algorithms.cpsat.solve import cp_sat

__all__ = [
    "BACK_TO_BACK",
    "BACK_TO_BACK_PENALTY_MAX",
    "COSTS",
    "FAIRNESS",
    "MECHANISM",
    "OBJECTIVES",
    "QUOTA_KEYS",
    "TIME_LIMIT_MAX_S",
    "WEEK_COUNT_MAX",
    "WORKERS_MAX",
    "back_to_back_count",
    "cp_sat",
    "regret_cost",
]
