"""Pages of the swap market: faculty suggestions and requests, the coordinator's market per schedule."""

from django.urls import path

from stability.market import approval_views, views

urlpatterns = [
    path("swaps/", views.swap_suggestions_page, name="swap_suggestions"),
    path("swaps/suggestions/request/", views.swap_suggestion_request, name="swap_suggestion_request"),
    path("swaps/requests/", views.my_swap_requests, name="my_swap_requests"),
    path("swaps/requests/<int:pk>/confirm/", views.swap_request_act, {"action": "confirm"}, name="swap_request_confirm"),
    path("swaps/requests/<int:pk>/decline/", views.swap_request_act, {"action": "decline"}, name="swap_request_decline"),
    path("swaps/requests/<int:pk>/cancel/", views.swap_request_act, {"action": "cancel"}, name="swap_request_cancel"),
    path("swaps/requests/<int:pk>/match/", views.swap_request_match_view, name="swap_request_match"),
    path("coordinator/swaps/", views.swap_market_overview, name="swap_market_overview"),
    path("coordinator/swaps/approvals/", approval_views.swap_approvals, name="swap_approvals"),
    path("coordinator/swaps/approvals/<int:pk>/approve/", approval_views.swap_approval_approve, name="swap_approval_approve"),
    path("coordinator/swaps/approvals/<int:pk>/refuse/", approval_views.swap_approval_refuse, name="swap_approval_refuse"),
    path("coordinator/schedules/<int:pk>/swaps/", views.swap_market, name="swap_market"),
    path("coordinator/schedules/<int:pk>/swaps/approval-setting/", approval_views.swap_approval_setting,
         name="swap_approval_setting"),
    path("coordinator/schedules/<int:pk>/swaps/clear-cycles/", views.swap_market_clear_cycles, name="swap_market_clear_cycles"),
]
