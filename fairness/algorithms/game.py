"""The coverage game of DESIGN §7: how many demanded slot-units a coalition of faculty can cover together.

v(S) is the value of a maximum flow

    source --d_i--> faculty i --1--> (i, week w) --1--> slot (w, r) --c_wr--> sink

over the members i of S: faculty i serves at most d_i slots (their load), at most one per week, only the slots
(w, r) they are eligible for (qualified for r and not blocking w), and slot (w, r) takes at most c_wr.

:class:`FlowOracle` answers v(S) with a fresh OR-Tools maximum flow on one network built once per game (only the
source arcs change between coalitions): the test oracle and the benchmark's baseline. The Shapley computations use
the incremental flow of :mod:`fairness.algorithms.flow` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow


@dataclass(frozen=True)
class CoverageGame:
    """eligible: (n, W, R) bool, faculty i may serve rotation r in week w; load: (n,) int ≥ 0, the most slots
    faculty i serves (their target load d_i); capacity: (W, R) int ≥ 0, the seats of slot (w, r)."""

    eligible: np.ndarray
    load: np.ndarray
    capacity: np.ndarray

    @property
    def n_faculty(self) -> int:
        return self.eligible.shape[0]

    @property
    def n_weeks(self) -> int:
        return self.eligible.shape[1]

    @property
    def n_rotations(self) -> int:
        return self.eligible.shape[2]

    @property
    def total_demand(self) -> int:
        return int(self.capacity.sum())

    def coverage_capacity(self) -> np.ndarray:
        """(n,) the number of slots (w, r) with a seat that each faculty member is eligible for."""
        return (self.eligible & (self.capacity > 0)[None]).sum(axis=(1, 2))


def coverage_game(eligible, load, capacity) -> CoverageGame:
    """Validate and freeze the game's arrays; a ValueError names the offending argument."""
    eligible = np.asarray(eligible)
    if eligible.ndim != 3:
        raise ValueError(f"eligible must be a (faculty, week, rotation) array, got shape {eligible.shape}.")
    if eligible.dtype != bool:
        raise ValueError(f"eligible must be boolean, got {eligible.dtype}.")
    n, n_weeks, n_rot = eligible.shape
    load = _integers("load", load, (n,))
    capacity = _integers("capacity", capacity, (n_weeks, n_rot))
    game = CoverageGame(eligible.copy(), load, capacity)
    for array in (game.eligible, game.load, game.capacity):
        array.setflags(write=False)
    return game


def _integers(name: str, values, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}.")
    whole = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating) and bool(np.all(np.mod(array, 1) == 0)))
    if array.size and not whole:
        raise ValueError(f"{name} must hold whole numbers.")
    array = array.astype(np.int64)
    if (array < 0).any():
        raise ValueError(f"{name} must not be negative.")
    return array.copy()


class FlowOracle:
    """v(S) by a fresh maximum flow per coalition on a network built once (OR-Tools SimpleMaxFlow, array API)."""

    def __init__(self, game: CoverageGame) -> None:
        n, n_weeks, n_rot = game.eligible.shape
        pair_i, pair_w = np.nonzero(game.eligible.any(axis=2))
        n_pairs = len(pair_i)
        pair_of = np.full((n, n_weeks), -1, dtype=np.int64)
        pair_of[pair_i, pair_w] = np.arange(n_pairs)
        e_i, e_w, e_r = np.nonzero(game.eligible)
        source, first_faculty = 0, 1
        first_pair = first_faculty + n
        first_slot = first_pair + n_pairs
        sink = first_slot + n_weeks * n_rot
        tails = np.concatenate([
            np.full(n, source), first_faculty + pair_i, first_pair + pair_of[e_i, e_w],
            first_slot + np.arange(n_weeks * n_rot)])
        heads = np.concatenate([
            first_faculty + np.arange(n), first_pair + np.arange(n_pairs), first_slot + e_w * n_rot + e_r,
            np.full(n_weeks * n_rot, sink)])
        caps = np.concatenate([
            game.load, np.ones(n_pairs, dtype=np.int64), np.ones(len(e_i), dtype=np.int64),
            game.capacity.reshape(-1)])
        self._flow = max_flow.SimpleMaxFlow()
        self._flow.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64))
        self._source_arcs = np.arange(n, dtype=np.int32)  # the first n arcs
        self._load = game.load
        self._source, self._sink = source, sink

    def value(self, members) -> int:
        """v(S) for S given as a boolean mask over faculty or a sequence of faculty indices."""
        members = np.asarray(members)
        mask = members if members.dtype == bool else np.isin(np.arange(len(self._load)), members)
        self._flow.set_arcs_capacity(self._source_arcs, np.where(mask, self._load, 0).astype(np.int64))
        status = self._flow.solve(self._source, self._sink)
        if status != self._flow.OPTIMAL:  # pragma: no cover - capacities are small non-negative integers
            raise RuntimeError(f"max flow failed with status {status}")
        return int(self._flow.optimal_flow())


def value(game: CoverageGame, members) -> int:
    """v(S) by one fresh maximum flow."""
    return FlowOracle(game).value(members)
