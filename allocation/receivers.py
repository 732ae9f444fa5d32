"""Allocation's receivers of the signals of the apps below it (connected in AllocationConfig.ready())."""

from __future__ import annotations

from allocation.services.chances import chances_request


def preferences_changed_receiver(sender, *, year_id: int, **kwargs) -> None:
    """New preferences: the year's chances are stale; ask for a (debounced) recomputation."""
    chances_request(year_id=year_id)
