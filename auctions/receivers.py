"""How the auctions app reacts to what allocation signals (DESIGN §2); connected in AuctionsConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from allocation.signals import schedule_published
from auctions.awards import points_award_for_schedule


@receiver(schedule_published, dispatch_uid="auctions.award_points")
def award_points_on_publication(sender, *, schedule_id: int, **kwargs) -> None:
    """A schedule was published: post its holiday and unwanted-week awards (once per faculty member and week). A
    failure is logged by the sender and leaves the ledger untouched; the publication stands."""
    points_award_for_schedule(schedule_id=schedule_id)
