"""How the auctions app reacts to what allocation signals (DESIGN §2); connected in AuctionsConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from allocation.signals import schedule_changed, schedule_published
from auctions.awards import points_award_for_schedule


@receiver(schedule_published, dispatch_uid="auctions.award_points")
def award_points_on_publication(sender, *, schedule_id: int, **kwargs) -> None:
    """A schedule was published: its holiday and unwanted weeks earn their awards, and awards for weeks their
    holders no longer have are reversed. A failure is logged by the sender and leaves the ledger untouched; the
    publication stands."""
    points_award_for_schedule(schedule_id=schedule_id)


@receiver(schedule_changed, dispatch_uid="auctions.award_points_after_change")
def award_points_after_change(sender, *, change, published: bool = False, **kwargs) -> None:
    """An audited change rewrote the published schedule: the awards follow the weeks to their new holders."""
    if published:
        points_award_for_schedule(schedule_id=change.schedule_id)
