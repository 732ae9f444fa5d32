"""/api/v1/ routes of the allocation app: runs, schedules, assignments and the game-theory operations.

A SimpleRouter, so the /api/v1/ root page stays the preferences router's. Resource URLs end in a slash like
the rest of /api/v1/ (/runs/, /runs/7/); operations on one resource do not (/runs/7/cancel, /assignments/3/why,
later /schedules/3/publish), matching the operation paths of DESIGN §10. The chances: /probabilities/ and the
operation /probabilities/recompute.
"""

from django.urls import include, path
from rest_framework.routers import DynamicRoute, SimpleRouter

from allocation import api, calendar_api, chance_api


class OperationRouter(SimpleRouter):
    routes = [
        route._replace(url=route.url.replace("{trailing_slash}", "")) if isinstance(route, DynamicRoute) else route
        for route in SimpleRouter.routes
    ]


router = OperationRouter()
router.register("runs", api.RunViewSet, basename="run")
router.register("schedules", api.ScheduleViewSet, basename="schedule")
router.register("assignments", api.AssignmentViewSet, basename="assignment")

urlpatterns = [
    path("game-theory/rsd-allocation", api.RsdAllocationView.as_view(), name="rsd-allocation"),
    path("game-theory/vcg-auction", api.VcgAuctionView.as_view(), name="vcg-auction"),
    path("probabilities/", chance_api.ProbabilitiesView.as_view(), name="probabilities"),
    path("probabilities/recompute", chance_api.ProbabilitiesRecomputeView.as_view(), name="probabilities-recompute"),
    path("calendar", calendar_api.CalendarView.as_view(), name="calendar"),
    path("calendar/regenerate", calendar_api.CalendarRegenerateView.as_view(), name="calendar-regenerate"),
    path("", include(router.urls)),
]
