"""/api/v1/ routes of the stability app: operations on one schedule (no trailing slash, like /runs/7/cancel), the
game-theory operations, and the stored reports as a resource (/stability-reports/, /stability-reports/3/).

Included before allocation's routes so /schedules/{id}/stability, /publish and /analytics resolve here. The ids are
matched loosely and checked in the view, so a bad id is a JSON 404, never Django's HTML one.
"""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from stability import api

router = SimpleRouter()
router.register("stability-reports", api.StabilityReportViewSet, basename="stability-report")

urlpatterns = [
    re_path(r"^schedules/(?P<pk>[^/.]+)/stability$", api.ScheduleStabilityView.as_view(), name="schedule-stability"),
    re_path(r"^schedules/(?P<pk>[^/.]+)/publish$", api.SchedulePublishView.as_view(), name="schedule-publish"),
    re_path(r"^schedules/(?P<pk>[^/.]+)/analytics$", api.ScheduleAnalyticsView.as_view(), name="schedule-analytics"),
    path("game-theory/nash-stable-schedule", api.NashStableScheduleView.as_view(), name="nash-stable-schedule"),
    re_path(r"^game-theory/price-of-anarchy/(?P<academic_year>[^/.]+)$", api.PriceOfAnarchyView.as_view(),
            name="price-of-anarchy"),
    path("", include(router.urls)),
]
