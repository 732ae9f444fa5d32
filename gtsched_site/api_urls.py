"""/api/v1/: resource routers and the operation endpoints integrations expect (DESIGN §10)."""

from django.urls import include, path

urlpatterns = [
    path("", include("preferences.api_urls")),
    path("", include("stability.api_urls")),  # before allocation: /schedules/{id}/stability, /publish, /analytics
    path("", include("stability.market.api_urls")),
    path("", include("allocation.api_urls")),
    path("", include("fairness.api_urls")),
    path("", include("auctions.api_urls")),
]
