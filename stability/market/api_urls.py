"""/api/v1/ routes of the swap market: the swap-requests resource (operations without a trailing slash, like
/runs/7/cancel), suggestions and trading cycles on one schedule, and strategy performance."""

from django.urls import include, path, re_path

from allocation.api_urls import OperationRouter
from stability.market import api, approval_api

router = OperationRouter()
router.register("swap-requests", api.SwapRequestViewSet, basename="swap-request")

urlpatterns = [
    re_path(r"^schedules/(?P<pk>[^/.]+)/swap-suggestions$", api.SwapSuggestionsView.as_view(), name="schedule-swap-suggestions"),
    re_path(r"^schedules/(?P<pk>[^/.]+)/clear-cycles$", api.ClearCyclesView.as_view(), name="schedule-clear-cycles"),
    path("strategy-performance", api.StrategyPerformanceView.as_view(), name="strategy-performance"),
    path("swap-approvals", approval_api.SwapApprovalListView.as_view(), name="swap-approvals"),
    re_path(r"^swap-approvals/(?P<pk>[^/.]+)/approve$", approval_api.SwapApprovalApproveView.as_view(),
            name="swap-approval-approve"),
    re_path(r"^swap-approvals/(?P<pk>[^/.]+)/refuse$", approval_api.SwapApprovalRefuseView.as_view(),
            name="swap-approval-refuse"),
    path("", include(router.urls)),
]
