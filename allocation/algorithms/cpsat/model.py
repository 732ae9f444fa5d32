"""The CP-SAT model: the x Booleans and wildcard integers of a restricted or full model (``_Assignment``), a
CpModelProto filled from index arrays that can complete and check candidate values in numpy (``_Model``), the solver
parameters shared by every solve, and ``_build``, which adds the hard and side constraints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from allocation.algorithms.types import Problem


class _Assignment:
    """The x Booleans (one per kept eligible triple, C order) and the wildcard integers (one per faculty with
    dropped triples)."""

    def __init__(self, problem: Problem, keep: np.ndarray | None) -> None:
        self.shape = problem.eligible.shape
        n, n_weeks, _ = self.shape
        kept = problem.eligible if keep is None else keep
        self.faculty, self.week, self.rotation = (v.astype(np.int64) for v in np.nonzero(kept))
        self.flat = np.ravel_multi_index((self.faculty, self.week, self.rotation), self.shape)
        self.n_x = len(self.flat)
        self.rank = np.asarray(problem.rank)[self.faculty, self.week].astype(np.int64)
        # (faculty, week) groups: x indices [fw_start[k], fw_start[k+1]) belong to key fw_key[k] = i·W + w.
        self.fw_key, fw_first = np.unique(self.faculty * n_weeks + self.week, return_index=True)
        self.fw_start = np.append(fw_first, self.n_x)
        self.starts = np.searchsorted(self.faculty, np.arange(n + 1))
        # Wildcards: up to min(d_i, dropped weeks) units at the best dropped rank.
        dropped = problem.eligible.any(axis=2) & ~kept.any(axis=2) if keep is not None else np.zeros((n, n_weeks), bool)
        dropped_weeks = dropped.sum(axis=1)
        self.w_faculty = np.flatnonzero((dropped_weeks > 0) & (problem.demand > 0))
        self.w_high = np.minimum(problem.demand[self.w_faculty], dropped_weeks[self.w_faculty])
        self.w_rank = np.min(np.where(dropped, problem.rank, n_weeks + 1), axis=1)[self.w_faculty].astype(np.int64)
        self.n_w = len(self.w_faculty)

    def index_of(self, rows: np.ndarray) -> np.ndarray:
        """x index of each (i, w, r) row, −1 where the triple is not in the model."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        if not self.n_x:
            return np.full(len(rows), -1)
        flat = np.ravel_multi_index(tuple(rows.T), self.shape)
        at = np.minimum(np.searchsorted(self.flat, flat), self.n_x - 1)
        return np.where(self.flat[at] == flat, at, -1)

    def week_vars(self, i: int, w: int) -> np.ndarray:
        key = i * self.shape[1] + w
        k = np.searchsorted(self.fw_key, key)
        if k < len(self.fw_key) and self.fw_key[k] == key:
            return np.arange(self.fw_start[k], self.fw_start[k + 1])
        return np.zeros(0, dtype=np.int64)


@dataclass
class _Defined:
    """Auxiliary variables that follow from earlier ones: value[aux[k]] = transform(Σ_{rows == k} coeff·value[col])."""

    aux: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    coeffs: np.ndarray
    transform: Callable[[np.ndarray], np.ndarray] = field(default=lambda s: s)


class _Model:
    """A CpModelProto filled from index arrays (one text parse for thousands of variables, repeated-field extends
    for constraints). It keeps its own copy of the domains and linear rows, so any candidate assignment can be
    completed (auxiliary values from the primary ones) and checked against every constraint in numpy."""

    def __init__(self, booleans: int, integers: np.ndarray) -> None:
        """Primary variables: `booleans` Booleans, then one integer in 0..h per entry of `integers`."""
        self.model = cp_model.CpModel()
        self.proto = self.model.proto
        self.low: list[int] = []
        self.high: list[int] = []
        self.rows: list[tuple[np.ndarray, np.ndarray, int, int]] = []
        self._stacked: tuple[np.ndarray, ...] | None = None
        self.definitions: list[_Defined] = []
        self.new_vars(booleans, 0, 1)
        if len(integers):
            self.proto.merge_text_format("".join(f"variables {{ domain: 0 domain: {int(h)} }}\n" for h in integers))
            self.low += [0] * len(integers)
            self.high += [int(h) for h in integers]
        self.n_primary = self.n_vars

    @property
    def n_vars(self) -> int:
        return len(self.low)

    def new_vars(self, count: int, low: int, high: int) -> np.ndarray:
        if count:
            self.proto.merge_text_format(f"variables {{ domain: {int(low)} domain: {int(high)} }}\n" * count)
        first = self.n_vars
        self.low += [int(low)] * count
        self.high += [int(high)] * count
        return np.arange(first, self.n_vars)

    def linear(self, variables: Iterable[int], coeffs: Iterable[int] | int, low: int, high: int) -> None:
        variables = np.asarray(variables, dtype=np.int64)
        coeffs = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), variables.shape)
        linear = self.proto.constraints.add().linear
        linear.vars.extend(variables.tolist())
        linear.coeffs.extend(coeffs.tolist())
        linear.domain.extend([int(low), int(high)])
        self.rows.append((variables, coeffs, int(low), int(high)))
        self._stacked = None

    def at_most_one(self, variables: np.ndarray) -> None:
        self.proto.constraints.add().at_most_one.literals.extend(np.asarray(variables).tolist())
        self.rows.append((np.asarray(variables, dtype=np.int64), np.ones(len(variables), dtype=np.int64), 0, 1))
        self._stacked = None

    def define(self, aux: np.ndarray, rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray | int,
               transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        coeffs = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), cols.shape)
        self.definitions.append(_Defined(aux, np.asarray(rows, dtype=np.int64), cols, coeffs, transform or (lambda s: s)))

    def sums(self, rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray | int, count: int, high: int) -> np.ndarray:
        """count new variables v[k] = Σ_{rows == k} coeff·var[col], each in 0..high."""
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        coeffs = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), cols.shape)
        aux = self.new_vars(count, 0, high)
        order = np.argsort(rows, kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(count + 1))
        for k in range(count):
            members = order[bounds[k]:bounds[k + 1]]
            self.linear(np.append(cols[members], aux[k]), np.append(coeffs[members], -1), 0, 0)
        self.define(aux, rows, cols, coeffs)
        return aux

    def total(self, cols: np.ndarray, coeffs: np.ndarray | int, high: int) -> int:
        """One new variable equal to Σ coeff·var[col] (a single-variable objective proves bounds at once)."""
        return int(self.sums(np.zeros(len(cols), dtype=np.int64), cols, coeffs, 1, high)[0])

    def complete(self, primary: np.ndarray) -> np.ndarray:
        """Every variable's value from the primary ones."""
        values = np.zeros(self.n_vars, dtype=np.int64)
        values[: self.n_primary] = primary[: self.n_primary]
        for d in self.definitions:
            sums = np.bincount(d.rows, weights=d.coeffs * values[d.cols], minlength=len(d.aux))
            values[d.aux] = d.transform(np.rint(sums).astype(np.int64))
        return values

    def feasible(self, values: np.ndarray) -> bool:
        """Whether a complete assignment meets every domain (fixed levels included) and every constraint."""
        if self._stacked is None:
            lengths = [len(v) for v, _, _, _ in self.rows]
            self._stacked = (
                np.repeat(np.arange(len(self.rows)), lengths),
                np.concatenate([v for v, _, _, _ in self.rows]) if self.rows else np.zeros(0, dtype=np.int64),
                np.concatenate([c for _, c, _, _ in self.rows]) if self.rows else np.zeros(0, dtype=np.int64),
                np.array([lo for _, _, lo, _ in self.rows], dtype=np.int64),
                np.array([hi for _, _, _, hi in self.rows], dtype=np.int64),
            )
        row, var, coeff, low, high = self._stacked
        activity = np.bincount(row, weights=coeff * values[var], minlength=len(low))
        return bool((values >= np.array(self.low)).all() and (values <= np.array(self.high)).all()
                    and (activity >= low).all() and (activity <= high).all())

    def set_domain(self, var: int, low: int, high: int) -> tuple[int, int]:
        domain = self.proto.variables[int(var)].domain
        domain.clear()
        domain.extend([int(low), int(high)])
        old = (self.low[var], self.high[var])
        self.low[var], self.high[var] = int(low), int(high)
        return old

    def solve(self, objective: tuple[int, int] | None, *, hint: np.ndarray | None, parameters: str,
              time_limit_s: float) -> tuple[str, np.ndarray | None, float]:
        """Minimise sense·var (objective = (var, sense)), or find any solution when None; hint: complete values.

        Returns (status name, every variable's value or None, wall seconds)."""
        self.proto.clear_objective()
        if objective is not None:
            self.proto.objective.vars.append(int(objective[0]))
            self.proto.objective.coeffs.append(int(objective[1]))
        self.proto.clear_solution_hint()
        if hint is not None:
            self.proto.solution_hint.vars.extend(range(self.n_vars))
            self.proto.solution_hint.values.extend(hint.tolist())
        solver = cp_model.CpSolver()
        solver.parameters.merge_text_format(parameters)
        solver.parameters.max_time_in_seconds = time_limit_s
        status = solver.status_name(solver.solve(self.model))
        if status == "MODEL_INVALID":
            raise RuntimeError(f"cp_sat built an invalid model: {self.model.validate()}")
        values = np.asarray(solver.response_proto.solution, dtype=np.int64) if status in ("OPTIMAL", "FEASIBLE") else None
        return status, values, float(solver.wall_time)


def _parameters(workers: int, seed: int) -> str:
    """CP-SAT parameters shared by every solve.

    Measured on these assignment models: the LP must see the at-most-one rows that presolve turns into clauses
    (linearization level 2, the "max_lp" subsolver when several workers share the search), and one presolve pass
    without probing, symmetry detection or the big-overlap search is enough (those cost more than the solve)."""
    return (f"random_seed: {seed} num_workers: {workers} linearization_level: 2 max_presolve_iterations: 1 "
            "cp_model_probing_level: 0 symmetry_level: 0 find_big_linear_overlap: false "
            'subsolvers: "max_lp" subsolvers: "quick_restart" subsolvers: "core" subsolvers: "default_lp"')


def _build(problem: Problem, a: _Assignment, options: Mapping[str, Any]) -> tuple[_Model, np.ndarray, np.ndarray]:
    """The hard constraints; returns the model, the wildcard variables and the soft back-to-back indicators."""
    n, n_weeks, n_rotations = problem.eligible.shape
    demand = problem.demand
    m = _Model(a.n_x, a.w_high)
    wild = np.arange(a.n_x, a.n_x + a.n_w)
    for x in a.index_of(problem.preassigned):
        m.set_domain(x, 1, 1)
    ids = np.arange(a.n_x)

    # Σ x[i,·,·] (+ wildcard) ≤ d_i, only where it can bind.
    has_wild = np.zeros(n, dtype=bool)
    has_wild[a.w_faculty] = True
    wild_of = np.full(n, -1)
    wild_of[a.w_faculty] = wild
    for i in np.flatnonzero((np.diff(a.starts) > demand) | has_wild):
        members = ids[a.starts[i]:a.starts[i + 1]]
        m.linear(np.append(members, wild_of[i]) if has_wild[i] else members, 1, 0, demand[i])
    # At most one slot per faculty per week: only for several rotations and demand ≥ 2 (else implied).
    sizes = np.diff(a.fw_start)
    for k in np.flatnonzero((sizes > 1) & (demand[a.fw_key // n_weeks] > 1)):
        m.at_most_one(ids[a.fw_start[k]:a.fw_start[k + 1]])
    # Slot capacity, where it can bind.
    slot = a.week * n_rotations + a.rotation
    order = np.argsort(slot, kind="stable")
    slot_bounds = np.searchsorted(slot[order], np.arange(n_weeks * n_rotations + 1))
    capacity = problem.capacity.ravel()
    for s in np.flatnonzero(np.diff(slot_bounds) > capacity):
        m.linear(order[slot_bounds[s]:slot_bounds[s + 1]], 1, 0, capacity[s])

    k = options["max_holidays"]
    if k is not None:
        holiday = np.asarray(problem.is_holiday, dtype=bool)[a.week]
        holiday_weeks = np.bincount(a.fw_key // n_weeks, weights=holiday[a.fw_start[:-1]], minlength=n)
        for i in np.flatnonzero((holiday_weeks > k) & (demand > k)):
            members = ids[a.starts[i]:a.starts[i + 1]]
            m.linear(members[holiday[members]], 1, 0, k)

    b2b = np.zeros(0, dtype=np.int64)
    if options["back_to_back"] != "off":
        # Consecutive (faculty, week) groups i·W + w and i·W + w + 1, for faculty who may serve two weeks.
        first = a.fw_key[:-1]
        nxt = np.flatnonzero((np.diff(a.fw_key) == 1) & (first % n_weeks != n_weeks - 1) & (demand[first // n_weeks] > 1))
        groups = [ids[a.fw_start[g]:a.fw_start[g + 2]] for g in nxt]
        if options["back_to_back"] == "hard":
            for members in groups:
                m.at_most_one(members)
        else:
            # b ≥ [serves w and w+1] as Σ x(w) + Σ x(w+1) − b ≤ 1; minimising pushes b down to the indicator.
            b2b = m.new_vars(len(groups), 0, 1)
            for members, b in zip(groups, b2b, strict=True):
                m.linear(np.append(members, b), np.append(np.ones(len(members), dtype=np.int64), -1), -1, 1)
            rows = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
            cols = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
            m.define(b2b, rows, cols, 1, lambda s: (s >= 2).astype(np.int64))

    for i, j in options["pairs"]:
        for w in range(n_weeks):
            vi, vj = a.week_vars(i, w), a.week_vars(j, w)
            if len(vi) or len(vj):
                m.linear(np.concatenate([vi, vj]), np.concatenate([np.ones(len(vi)), -np.ones(len(vj))]), 0, 0)

    for i, r, low, high in options["rotation_quotas"]:
        members = ids[a.starts[i]:a.starts[i + 1]]
        members = members[a.rotation[members] == r]
        # No cap means "all of them"; a minimum above that is infeasible, which the domain must still express.
        m.linear(members, 1, low, max(low, len(members)) if high is None else high)
    return m, wild, b2b

