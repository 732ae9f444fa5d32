"""The auctions' services (DESIGN §8): create / close / cancel (lifecycle), bids, settlement and the seed's one-shot
auction. Every write is one transaction, the auction row locked before any account."""

from auctions.services.bids import bid_change, bid_place, bid_withdraw
from auctions.services.lifecycle import auction_cancel, auction_close, auction_create
from auctions.services.oneshot import OneShotResult, auction_run_once
from auctions.services.settlement import auction_settle, auctions_settle_due

__all__ = ["OneShotResult", "auction_cancel", "auction_close", "auction_create", "auction_run_once",
           "auction_settle", "auctions_settle_due", "bid_change", "bid_place", "bid_withdraw"]
