from django.urls import path

from auctions import auction_views as views

urlpatterns = [
    path("points/", views.my_points, name="my_points"),
    path("auctions/", views.auctions_page, name="auctions_page"),
    path("auctions/<int:pk>/bid/", views.bid_submit, name="bid_submit"),
    path("auctions/<int:pk>/withdraw/", views.bid_withdraw, name="bid_withdraw"),
    path("coordinator/auctions/", views.coordinator_auctions_overview, name="coordinator_auctions_overview"),
    path("coordinator/years/<int:label>/auctions/", views.coordinator_auctions, name="coordinator_auctions"),
    path("coordinator/years/<int:label>/auctions/new/", views.coordinator_auction_create,
         name="coordinator_auction_create"),
    path("coordinator/points/", views.coordinator_points_overview, name="coordinator_points_overview"),
    path("coordinator/years/<int:label>/points/", views.coordinator_points, name="coordinator_points"),
    path("coordinator/years/<int:label>/points/grant/", views.coordinator_points_grant, name="coordinator_points_grant"),
    path("coordinator/years/<int:label>/points/<str:faculty_id>/", views.coordinator_points_account,
         name="coordinator_points_account"),
    *(path(f"coordinator/auctions/<int:pk>/{action}/", views.coordinator_auction_action, {"action": action},
           name=f"coordinator_auction_{action}") for action in views.ACTIONS),
]
