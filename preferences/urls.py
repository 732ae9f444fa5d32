from django.urls import path

from preferences import notification_views, sheet_views, time_off_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("preferences/", views.my_preferences, name="my_preferences"),
    path("preferences/validate/", views.validate_preferences, name="validate_preferences"),
    path("preferences/versions/<int:pk>/", views.submission_detail, name="submission_detail"),
    path("settings/notifications/", notification_views.notification_settings_page, name="notification_settings"),
    path("preferences/time-off/", time_off_views.time_off_add, name="time_off_add"),
    path("preferences/time-off/<int:pk>/delete/", time_off_views.time_off_remove, name="time_off_remove"),
    path("coordinator/", views.coordinator_overview, name="coordinator_overview"),
    path("coordinator/years/<int:label>/", views.coordinator_year, name="coordinator_year"),
    path("coordinator/years/<int:label>/preferences.csv", sheet_views.preference_sheet_download,
         name="preference_sheet_download"),
    path("coordinator/years/<int:label>/preferences/upload/", sheet_views.preference_sheet_upload,
         name="preference_sheet_upload"),
]
