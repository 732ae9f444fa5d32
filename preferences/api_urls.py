"""/api/v1/ routes of the preferences app: read-only resources and the preference operations."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from preferences import api, notification_api, time_off_api

router = DefaultRouter()
router.register("years", api.AcademicYearViewSet, basename="year")
router.register("weeks", api.WeekViewSet, basename="week")
router.register("rotations", api.RotationViewSet, basename="rotation")
router.register("faculty", api.FacultyViewSet, basename="faculty")
router.register("submissions", api.SubmissionViewSet, basename="submission")
router.register("time-off", time_off_api.TimeOffViewSet, basename="time-off")

urlpatterns = [
    path(
        "game-theory/preferences/strategyproof",
        api.StrategyproofPreferencesView.as_view(),
        name="preferences-strategyproof",
    ),
    path("game-theory/preferences/validate", api.ValidatePreferencesView.as_view(), name="preferences-validate"),
    path("notification-settings", notification_api.NotificationSettingsView.as_view(), name="notification-settings"),
    path("", include(router.urls)),
]
