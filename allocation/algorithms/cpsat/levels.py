"""The lexicographic levels of one model, solved in sequence (``_Run``): unassigned demand, then the regret or the
fairness profile — greedy or generous tiers, several per weighted solve ("runs"), generous starting from a binary
search on the worst rank — each fixed before the next, hinted, bounded by the relaxation, and decided without a
solve when a candidate already attains a bound."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from allocation.algorithms._flow import lexicographic_weights
from allocation.algorithms.cpsat.model import _Assignment, _build, _parameters
from allocation.algorithms.cpsat.schedule import regret_cost
from allocation.algorithms.types import FEASIBLE, INFEASIBLE, OPTIMAL, Problem, sort_assignments

_TIERS_PER_SOLVE = 4  # fairness tiers optimised together in one weighted solve (see _Run._tiers)
_TIER_WEIGHT_LIMIT = 2**40  # bound on Σ w_j·range_j of such a solve


def _weighted_range(ranges: np.ndarray) -> int:
    """Σ w_j·range_j under the lexicographic weights: how far the weighted sum of the tier counts can move."""
    return sum(w * int(r) for w, r in zip(lexicographic_weights(ranges), ranges, strict=True))


class _Run:
    """One model (restricted or full) and its sequence of lexicographic levels.

    The incumbent (``solution``) always meets every constraint and every level fixed so far. Each level is hinted
    with the better, for its objective, of the incumbent and the mechanism hint (when the hint still meets every
    constraint and fixed level), and is decided without a solve when that candidate already attains a bound."""

    def __init__(self, problem: Problem, keep: np.ndarray | None, options: Mapping[str, Any], *, seed: int,
                 deadline: float, hint_rows: np.ndarray | None, cardinality_bound: int | None,
                 relaxed: np.ndarray | None = None) -> None:
        started = time.perf_counter()
        self.problem, self.options, self.deadline = problem, options, deadline
        self.a = _Assignment(problem, keep)
        self.m, self.wild, self.b2b = _build(problem, self.a, options)
        self.parameters = _parameters(options["workers"], seed)
        self.cardinality_bound = cardinality_bound
        self.levels: list[dict[str, Any]] = []
        self.solution: np.ndarray | None = None
        self.status: str | None = OPTIMAL  # OPTIMAL while every level is proven; None when nothing was found
        self.reason = ""
        self.hint: np.ndarray | None = None  # primary values of the mechanism hint
        if hint_rows is not None:
            self.hint = np.zeros(self.a.n_x + self.a.n_w, dtype=np.int64)
            at = self.a.index_of(hint_rows)
            self.hint[at[at >= 0]] = 1
        # Level bounds from the relaxation's optimum (full model only: a restricted one counts its wildcards at
        # ranks no worse than the real ones, so it may beat the relaxation). Each level's relaxed value bounds the
        # level as long as every level before it took its relaxed value; the first that does not ends them.
        self.bounds: dict[str, int] | None = None
        if relaxed is not None and keep is None:
            ranks = problem.rank[relaxed[:, 0], relaxed[:, 1]].astype(np.int64)
            profile = np.bincount(ranks, minlength=problem.n_weeks + 1)
            self.bounds = {f"rank_{r}": int(profile[r]) for r in range(1, problem.n_weeks + 1)}
            self.bounds.update(unassigned=int(problem.demand.sum()) - len(relaxed),
                               regret=int(regret_cost(ranks, options["cost"]).sum()),
                               worst_rank=int(ranks.max(initial=0)))
        self.wall_s = time.perf_counter() - started

    # -- results

    def rows(self) -> np.ndarray:
        assert self.solution is not None
        x = self.solution[: self.a.n_x].astype(bool)
        return sort_assignments(np.column_stack([self.a.faculty[x], self.a.week[x], self.a.rotation[x]]))

    def wildcards_used(self) -> np.ndarray:
        used = np.zeros(self.problem.n_faculty, dtype=bool)
        if self.solution is not None:
            used[self.a.w_faculty[self.solution[self.wild] > 0]] = True
        return used

    # -- the sequence

    def solve(self) -> None:
        started = time.perf_counter()
        a, m = self.a, self.m
        primary = np.arange(a.n_x + a.n_w)
        total_demand = int(self.problem.demand.sum())
        high = total_demand
        if self.cardinality_bound is not None and not a.n_w:
            # The hint maximised cardinality without the side constraints: a bound for the full model.
            high = min(high, self.cardinality_bound)
        assigned = m.total(primary, 1, high)
        if not self._optimise("unassigned", assigned, -1, report=lambda v: total_demand - v):
            return
        if self.cardinality_bound is not None and self.solution[assigned] > self.cardinality_bound:
            # Only wildcards exceed the full model's cardinality: this restricted round cannot certify.
            self.status = FEASIBLE
        elif self.options["objective"] == "regret":
            self._regret(primary)
        else:
            self._fairness(primary, assigned)
        self.wall_s += time.perf_counter() - started

    def _regret(self, primary: np.ndarray) -> None:
        a, options = self.a, self.options
        cols = np.concatenate([primary, self.b2b])
        coeffs = np.concatenate([regret_cost(a.rank, options["cost"]), regret_cost(a.w_rank, options["cost"]),
                                 np.full(len(self.b2b), options["back_to_back_penalty"])])
        # A wildcard counts up to w_high units: the total's bound weighs each coefficient by its variable's range.
        high = int((coeffs * np.asarray(self.m.high, dtype=np.int64)[cols]).sum())
        self._optimise("regret", self.m.total(cols, coeffs, high), 1)

    def _fairness(self, primary: np.ndarray, assigned: int) -> None:
        a, m = self.a, self.m
        # One count variable per rank that occurs (x ranks and wildcard ranks); absent ranks get no tier.
        ranks, rank_of = np.unique(np.concatenate([a.rank, a.w_rank]), return_inverse=True)
        available = np.bincount(rank_of, weights=np.concatenate([np.ones(a.n_x), a.w_high]), minlength=len(ranks))
        counts = m.sums(rank_of, primary, 1, len(ranks), int(available.max(initial=0)))
        self.tier_range = np.minimum(available, self.problem.demand.sum()).astype(np.int64)
        if self.options["fairness"] == "greedy":
            # Maximise n(r1), n(r2), …; the last count is then determined.
            if not self._tiers(ranks, counts, list(range(len(ranks) - 1)), -1, assigned):
                return
        else:
            if not self._worst_rank(ranks, counts):
                return
            # Then n(worst), n(next worse), …; n(r1) is then determined.
            if not self._tiers(ranks, counts, list(range(len(ranks) - 1, 0, -1)), 1, None):
                return
        if self.options["back_to_back"] == "soft":
            self._optimise("back_to_back", m.total(self.b2b, 1, len(self.b2b)), 1)

    def _tiers(self, ranks: np.ndarray, counts: np.ndarray, order: list[int], sense: int, assigned: int | None) -> bool:
        """Minimise sense·counts[order[0]], then sense·counts[order[1]], …, several tiers per solve.

        A run of q tiers is one level: Σ_j w_j·n_j with w_last = 1 and w_j = 1 + Σ_{l>j} w_l·range_l (range_l
        bounds how far n_l can move) has exactly the lexicographic optima of the q tiers (one more unit at tier j
        outweighs any change after it), so one solve replaces q. Runs start at _TIERS_PER_SOLVE tiers and double
        after a run solved within a second (later tiers hold few assignments each), while the weights stay under
        _TIER_WEIGHT_LIMIT. Each tier is still reported as its own level (the run's status, its solve time on the
        first). When maximising, a count that already holds every assignment not fixed at better ranks cannot
        grow: a run that starts with such a tier is decided without a solve."""
        m = self.m
        per, pos = _TIERS_PER_SOLVE, 0
        while pos < len(order):
            block = order[pos:pos + 1]
            while len(block) < per and pos + len(block) < len(order) and \
                    _weighted_range(self.tier_range[order[pos:pos + len(block) + 1]]) <= _TIER_WEIGHT_LIMIT:
                block = order[pos:pos + len(block) + 1]
            pos += len(block)
            first = block[0]
            decided = None if assigned is None else (
                lambda s, k=first: s[counts[k]] == s[assigned] - s[counts[:k]].sum())
            if len(block) == 1:
                if not self._optimise(f"rank_{ranks[first]}", int(counts[first]), sense, decided=decided):
                    return False
                continue
            weights = lexicographic_weights(self.tier_range[block])
            var = m.total(counts[block], np.array(weights, dtype=np.int64),
                          sum(w * m.high[counts[k]] for w, k in zip(weights, block, strict=True)))
            name = f"rank_{ranks[block[0]]}-{ranks[block[-1]]}"
            if self.bounds is not None:
                self.bounds[name] = sum(w * self.bounds[f"rank_{ranks[k]}"] for w, k in zip(weights, block, strict=True))
            # The decided shortcut applies only to the first tier; with a run it would fix the rest unproven.
            ok = self._optimise(name, var, sense)
            level = self.levels.pop()
            for j, k in enumerate(block):
                value = None if self.solution is None or level["objective"] is None else int(self.solution[counts[k]])
                self.levels.append({**level, "name": f"rank_{ranks[k]}", "objective": value,
                                    "wall_s": level["wall_s"] if j == 0 else 0.0, "solves": level["solves"] if j == 0 else 0})
                if ok:
                    m.set_domain(counts[k], value, value)
            if not ok:
                return False
            per = min(4 * _TIERS_PER_SOLVE, 2 * per) if level["wall_s"] < 1.0 else max(_TIERS_PER_SOLVE, per // 2)
        return True

    def _candidate(self, var: int, sense: int) -> np.ndarray | None:
        """The better of incumbent and hint for minimising sense·var, among those meeting every constraint."""
        best = None
        for primary in (self.solution, self.hint):
            if primary is None:
                continue
            values = self.m.complete(primary)
            if self.m.feasible(values) and (best is None or sense * values[var] < sense * best[var]):
                best = values
        return best

    def _optimise(self, name: str, var: int, sense: int, *, report: Callable[[int], int] = lambda v: v,
                  decided: Callable[[np.ndarray], bool] | None = None) -> bool:
        """One level: minimise sense·var, then fix var at the value found. False when the sequence must stop."""
        bound = None if self.bounds is None else self.bounds.get(name)
        if bound is not None and name != "unassigned":
            # The relaxed value: nothing better exists, so reaching it proves the level.
            low, high = self.m.low[var], self.m.high[var]
            self.m.set_domain(var, *((low, min(high, bound)) if sense < 0 else (max(low, bound), high)))
        fixed = self._level(name, var, sense, report=report, decided=decided)
        if self.bounds is not None and (not fixed or bound is None or self.solution[var] != (
                bound if name != "unassigned" else int(self.problem.demand.sum()) - bound)):
            self.bounds = None
        return fixed

    def _level(self, name: str, var: int, sense: int, *, report: Callable[[int], int],
               decided: Callable[[np.ndarray], bool] | None) -> bool:
        best = self._candidate(var, sense)
        if best is not None:
            bound = self.m.high[var] if sense < 0 else self.m.low[var]
            if best[var] == bound or (decided is not None and decided(best)):
                # Proven by a bound (the variable's own, or one the level gives): no solve needed.
                self.levels.append({"name": name, "solver_status": "OPTIMAL", "objective": report(int(best[var])),
                                    "wall_s": 0.0, "solves": 0})
                self.solution = best
                self.m.set_domain(var, best[var], best[var])
                return True
        remaining = self.deadline - time.perf_counter()
        if remaining <= 0:
            return self._out_of_time(name, best)
        status, values, wall = self.m.solve((var, sense), hint=best, parameters=self.parameters, time_limit_s=remaining)
        self.levels.append({"name": name, "solver_status": status,
                            "objective": None if values is None else report(int(values[var])), "wall_s": wall,
                            "solves": 1})
        if not self._accept(status, values, best):
            return False
        self.m.set_domain(var, values[var], values[var])
        return True

    def _worst_rank(self, ranks: np.ndarray, counts: np.ndarray) -> bool:
        """Generous level 1: the smallest k such that some solution uses no rank above ranks[k].

        A binary search of feasibility solves (counts above k fixed to 0) rather than one min-max solve: each
        probe keeps the strong assignment LP, where a min-max objective's linking constraints are weak."""
        wall, statuses = 0.0, []
        weights = np.concatenate([self.a.rank, self.a.w_rank])
        rank_sum = self.m.total(np.arange(len(weights)), weights, int((weights * self.m.high[: len(weights)]).sum()))
        self.solution = self.m.complete(self.solution)  # values for the variables added since
        used = np.flatnonzero(self.solution[counts] > 0)
        low, high = 0, int(used.max()) if len(used) else 0  # the incumbent uses no rank above ranks[high]
        if self.bounds is not None:  # no schedule avoids a rank the relaxation cannot avoid
            low = min(high, int(np.searchsorted(ranks, self.bounds["worst_rank"])))
        while low < high:
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0:
                break
            middle = (low + high) // 2
            saved = [self.m.set_domain(c, 0, 0) for c in counts[middle + 1:]]
            # Any solution will do, but a rank-sum objective steers the LP-guided search to a vertex quickly.
            status, values, seconds = self.m.solve((rank_sum, 1), hint=self.solution, time_limit_s=remaining,
                                                   parameters=self.parameters + " stop_after_first_solution: true")
            for c, (lo, hi) in zip(counts[middle + 1:], saved, strict=True):
                self.m.set_domain(c, lo, hi)
            wall += seconds
            statuses.append(status)
            if values is not None:
                self.solution = values
                used = np.flatnonzero(values[counts] > 0)
                high = int(used.max()) if len(used) else 0
            elif status == "INFEASIBLE":
                low = middle + 1
            else:
                break
        proven = low >= high
        if self.bounds is not None and (not proven or int(ranks[high]) != self.bounds["worst_rank"]):
            self.bounds = None
        for c in counts[high + 1:]:
            self.m.set_domain(c, 0, 0)
        self.levels.append({"name": "worst_rank", "solver_status": "OPTIMAL" if proven else "FEASIBLE",
                            "objective": int(ranks[high]) if len(ranks) else 0, "wall_s": wall,
                            "solves": len(statuses), "probe_status": statuses})
        if not proven:
            self.status = FEASIBLE
        return proven

    def _accept(self, status: str, values: np.ndarray | None, best: np.ndarray | None) -> bool:
        if status == "INFEASIBLE":
            self.status, self.solution, self.reason = INFEASIBLE, None, "the hard constraints cannot all be met"
            return False
        if values is None:  # time limit before any solution: keep the best candidate, if there is one
            return self._out_of_time(None, best)
        if status != "OPTIMAL":
            self.status = FEASIBLE
        self.solution = values
        return True

    def _out_of_time(self, name: str | None, best: np.ndarray | None) -> bool:
        if name is not None:
            self.levels.append({"name": name, "solver_status": "NOT_SOLVED", "objective": None, "wall_s": 0.0,
                                "solves": 0})
        # The candidate meets every constraint and fixed level: a valid incumbent even before any solve succeeded.
        self.solution = best if best is not None else self.solution
        if self.solution is None:
            self.status, self.reason = None, "no feasible allocation found within the time limit"
        else:
            self.status = FEASIBLE
        return False
