"""The coverage game's maximum flow grown one member at a time.

When faculty j joins a coalition S whose flow is maximum, every new augmenting path starts at j (no other source
arc has residual capacity), so v(S ∪ {j}) − v(S) is the number of augmenting paths found from j on the flow kept
from S: that is j's marginal contribution, computed without a fresh maximum flow.

The residual graph has faculty nodes, (faculty, week) nodes and slot nodes. A breadth-first search from j moves:

- from faculty i with a unit to place, to any slot (w, r) they are eligible for in a week w they do not serve
  (through (i, w));
- from a slot s that is full, through (h, w) for each holder h of s, either to another rotation r' of the same
  week that h is eligible for (h moves within the week), or back to faculty h (h leaves week w and has a unit to
  place elsewhere);
- and stops at the first slot with a free seat.

Each node is entered once, so a path found is a shortest augmenting path, and applying it keeps every capacity:
loads, one slot per faculty per week, eligibility and seats.

A search that fails leaves a dead region: the slot and faculty nodes it reached are closed under residual arcs
and hold no free seat. A later augmenting path cannot enter that region (it could not leave it, nor end in it),
so augmenting never changes the region's arcs or fills its seats: it stays dead as the coalition grows, and later
searches skip it. That keeps the many failing searches of a nearly covered year cheap.

Every change is written to an undo journal so that a search over coalitions (exact Shapley) can step back to a
smaller coalition.
"""

from __future__ import annotations

import numpy as np

from fairness.algorithms.game import CoverageGame


class IncrementalFlow:
    """A maximum flow of the coverage game for a growing coalition (start: the empty one)."""

    def __init__(self, game: CoverageGame) -> None:
        n, n_weeks, n_rot = game.eligible.shape
        self.n_rot, self.n_weeks = n_rot, n_weeks
        self.load_cap = game.load.tolist()
        self.seats = game.capacity.reshape(-1).tolist()
        self.total_seats = int(game.capacity.sum())
        # options[i][w]: the slots s = w·R + r of week w that i may serve (with a seat), for the weeks they may serve
        seated = game.eligible & (game.capacity > 0)[None]
        self.weeks_of = []
        self.options = []
        for i in range(n):
            weeks = np.flatnonzero(seated[i].any(axis=1))
            self.weeks_of.append(weeks.tolist())
            self.options.append({int(w): (w * n_rot + np.flatnonzero(seated[i, w])).tolist() for w in weeks})
        self.reset()

    def reset(self) -> None:
        n = len(self.load_cap)
        self.members = [False] * n
        self.load = [0] * n
        self.fill = [0] * len(self.seats)
        self.holders = [[] for _ in self.seats]
        self.serving = [dict() for _ in range(n)]  # serving[i][w] = the slot i holds in week w
        self.dead_slot = [False] * len(self.seats)
        self.dead_faculty = [False] * n
        self.value = 0
        self.journal: list[tuple] | None = None

    # -- undo journal ------------------------------------------------------------------------------------------
    def checkpoint(self) -> int:
        if self.journal is None:
            self.journal = []
        return len(self.journal)

    def undo(self, mark: int) -> None:
        journal = self.journal
        while len(journal) > mark:
            entry = journal.pop()
            kind = entry[0]
            if kind == "value":
                self.value = entry[1]
            elif kind == "join":
                self.members[entry[1]] = False
            elif kind == "load":
                self.load[entry[1]] = entry[2]
            elif kind == "dead":
                for s in entry[1]:
                    self.dead_slot[s] = False
                for h in entry[2]:
                    self.dead_faculty[h] = False
            elif kind == "in":  # h entered slot s in week w: take them out again
                _, h, w, s = entry
                self.holders[s].remove(h)
                self.fill[s] -= 1
                del self.serving[h][w]
            else:  # "out": h left slot s in week w: put them back
                _, h, w, s = entry
                self.holders[s].append(h)
                self.fill[s] += 1
                self.serving[h][w] = s

    # -- growth ------------------------------------------------------------------------------------------------
    def join(self, j: int) -> int:
        """Add faculty j to the coalition; returns their marginal contribution v(S ∪ {j}) − v(S)."""
        if self.members[j]:
            raise ValueError(f"faculty {j} is already a member.")
        self.members[j] = True
        if self.journal is not None:
            self.journal.append(("join", j))
            self.journal.append(("value", self.value))
            self.journal.append(("load", j, self.load[j]))
        gained = self._fill_direct(j, min(self.load_cap[j], self.total_seats - self.value))
        while self.load[j] + gained < self.load_cap[j] and self.value + gained < self.total_seats:
            if not self._augment_search(j):
                break
            gained += 1
        self.load[j] += gained
        self.value += gained
        return gained

    def _enter(self, h: int, w: int, s: int) -> None:
        self.holders[s].append(h)
        self.fill[s] += 1
        self.serving[h][w] = s
        if self.journal is not None:
            self.journal.append(("in", h, w, s))

    def _leave(self, h: int, w: int, s: int) -> None:
        self.holders[s].remove(h)
        self.fill[s] -= 1
        del self.serving[h][w]
        if self.journal is not None:
            self.journal.append(("out", h, w, s))

    def _fill_direct(self, j: int, most: int) -> int:
        """Paths of length one, in one pass over j's weeks: a free seat in a week j does not serve yet."""
        if most <= 0:
            return 0
        serving, fill, seats = self.serving[j], self.fill, self.seats
        options = self.options[j]
        taken = 0
        for w in self.weeks_of[j]:
            if w in serving:
                continue
            for s in options[w]:
                if fill[s] < seats[s]:
                    self._enter(j, w, s)
                    taken += 1
                    break
            if taken == most:
                break
        return taken

    def _augment_search(self, j: int) -> bool:
        """Breadth-first search for a longer augmenting path from j; applies it when found, and marks the region it
        reached dead when not."""
        n_rot, n_weeks, fill, seats, holders, serving, options = (
            self.n_rot, self.n_weeks, self.fill, self.seats, self.holders, self.serving, self.options)
        dead_slot, dead_faculty, weeks_of = self.dead_slot, self.dead_faculty, self.weeks_of
        # parent of a slot: (h, w, from_slot) — h enters the slot in week w, leaving from_slot (−1: h had a unit)
        slot_parent: list[tuple[int, int, int] | None] = [None] * len(seats)
        # parent of a faculty node h (a unit to place): the slot h left (−1 for j; −2 not reached)
        faculty_parent = [-2] * len(self.load)
        faculty_parent[j] = -1
        pair_seen = bytearray(len(self.load) * n_weeks)  # (h, w) nodes entered
        reached_slots: list[int] = []
        reached_faculty = [j]
        queue = [~j]  # a faculty node h is ~h (negative), a slot node is its index
        head = 0
        while head < len(queue):
            node = queue[head]
            head += 1
            if node < 0:
                h = ~node
                mine, base = serving[h], h * n_weeks
                for w in weeks_of[h]:
                    if w in mine or pair_seen[base + w]:
                        continue
                    pair_seen[base + w] = 1
                    for s in options[h][w]:
                        if slot_parent[s] is not None or dead_slot[s]:
                            continue
                        slot_parent[s] = (h, w, -1)
                        if fill[s] < seats[s]:
                            self._apply(s, slot_parent, faculty_parent)
                            return True
                        reached_slots.append(s)
                        queue.append(s)
            else:
                s = node
                w = s // n_rot
                for h in holders[s]:
                    key = h * n_weeks + w
                    if pair_seen[key]:
                        continue
                    pair_seen[key] = 1
                    for s2 in options[h][w]:
                        if s2 == s or slot_parent[s2] is not None or dead_slot[s2]:
                            continue
                        slot_parent[s2] = (h, w, s)
                        if fill[s2] < seats[s2]:
                            self._apply(s2, slot_parent, faculty_parent)
                            return True
                        reached_slots.append(s2)
                        queue.append(s2)
                    if faculty_parent[h] == -2 and not dead_faculty[h]:
                        faculty_parent[h] = s
                        reached_faculty.append(h)
                        queue.append(~h)
        for s in reached_slots:
            dead_slot[s] = True
        for h in reached_faculty:
            dead_faculty[h] = True
        if self.journal is not None:
            self.journal.append(("dead", reached_slots, reached_faculty))
        return False

    def _apply(self, end: int, slot_parent, faculty_parent) -> None:
        """Apply the path that reaches the free slot `end`, walking back to j."""
        s = end
        while True:
            h, w, came_from = slot_parent[s]
            if came_from >= 0:  # h moves from came_from to s within week w
                self._leave(h, w, came_from)
                self._enter(h, w, s)
                s = came_from
                continue
            self._enter(h, w, s)  # h places a unit in s
            left = faculty_parent[h]
            if left < 0:  # h is j
                return
            self._leave(h, left // self.n_rot, left)
            s = left
