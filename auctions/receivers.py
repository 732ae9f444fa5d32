"""How the auctions app reacts to what allocation signals (DESIGN §2), and its own settlement's e-mails (DESIGN §14);
connected in AuctionsConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver
from django.urls import reverse

from allocation.signals import schedule_changed, schedule_published
from auctions.auction_models import Bid, VickreyAuction
from auctions.awards import points_award_for_schedule
from auctions.services.slots import when
from auctions.signals import auction_settled
from preferences.notifications import Kind, notification_enqueue


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
@receiver(auction_settled, dispatch_uid="auctions.notify_settled")
def notify_auction_settled(sender, *, auction_id: int, **kwargs) -> None:
    """Every bidder whose bid stood at settlement hears the outcome and the price (never the other bids)."""
    auction = VickreyAuction.objects.select_related("week", "rotation", "winner").filter(pk=auction_id).first()
    if auction is None:
        return
    bidders = [b.faculty for b in auction.bids.filter(status__in=[Bid.Status.WON, Bid.Status.LOST]).select_related("faculty")]
    notification_enqueue(
        kind=Kind.AUCTION_SETTLED, event_key=f"auction_settled:{auction.pk}", recipients=bidders,
        subject=f"Auction #{auction.pk} settled: {auction.rotation}, {when(auction.week)}",
        link_path=reverse("auctions_page"), context={"auction": auction, "slot": f"{auction.rotation}, {when(auction.week)}"},
        per_recipient=lambda person: {"outcome": _outcome(auction, person)},
    )


def _outcome(auction: VickreyAuction, person) -> str:
    if auction.winner_id is None:
        return "No bid met the reserve, so nobody won; your points hold was released."
    if auction.winner_id == person.pk:
        if auction.is_desirable:
            return f"You won it and pay {auction.price} points (the second-highest bid or the reserve)."
        return f"You take it and are credited {auction.price} points (the second-lowest ask or the reserve)."
    if auction.is_desirable:
        return f"{auction.winner} won it at a price of {auction.price} points; your points hold was released."
    return f"{auction.winner} takes it for {auction.price} points."
