"""/api/v1/ routes of the auctions app (DESIGN §8, §10). The faculty id is matched loosely and checked in the view,
so an unknown id is a JSON 404."""

from django.urls import include, path, re_path

from auctions import api

urlpatterns = [
    re_path(r"^priority-points/(?P<faculty_id>[^/]+)$", api.PriorityPointsView.as_view(), name="priority-points"),
    re_path(r"^priority-points/(?P<faculty_id>[^/]+)/grant$", api.PriorityPointsGrantView.as_view(),
            name="priority-points-grant"),
    path("", include("auctions.auction_api_urls")),  # auctions, bids, the one-shot vickrey-auction
]
