"""/api/v1/ routes of the auctions: the auctions and bids resources (operations without a trailing slash, like
/auctions/7/settle) and the seed's one-shot /game-theory/vickrey-auction."""

from django.urls import include, path

from allocation.api_urls import OperationRouter
from auctions import auction_api

router = OperationRouter()
router.register("auctions", auction_api.AuctionViewSet, basename="auction")
router.register("bids", auction_api.BidViewSet, basename="bid")

urlpatterns = [
    path("game-theory/vickrey-auction", auction_api.VickreyAuctionView.as_view(), name="vickrey-auction"),
    path("", include(router.urls)),
]
