from django.urls import path

from allocation import calendar_views, chance_views, schedule_views, views, weights_views

urlpatterns = [
    path("coordinator/allocation/", views.allocation_overview, name="allocation_overview"),
    path("coordinator/years/<int:label>/allocation/", views.allocation_home, name="allocation_home"),
    path("coordinator/years/<int:label>/comparisons/", views.comparison_create, name="comparison_create"),
    path("coordinator/years/<int:label>/preassignments/", schedule_views.preassignment_create,
         name="preassignment_create"),
    path("coordinator/years/<int:label>/preassignments/<int:pk>/remove/", schedule_views.preassignment_delete,
         name="preassignment_delete"),
    path("coordinator/schedules/<int:pk>/weeks/", schedule_views.schedule_weeks, name="schedule_weeks"),
    path("coordinator/schedules/<int:pk>/export.csv", schedule_views.schedule_export, {"extension": "csv"},
         name="schedule_export_csv"),
    path("coordinator/schedules/<int:pk>/export.xlsx", schedule_views.schedule_export, {"extension": "xlsx"},
         name="schedule_export_xlsx"),
    path("coordinator/years/<int:label>/chances/", chance_views.year_chances, name="year_chances"),
    path("coordinator/years/<int:label>/chances/recompute/", chance_views.year_chances_recompute,
         name="year_chances_recompute"),
    path("coordinator/years/<int:label>/utility/", weights_views.utility_weights, name="utility_weights"),
    path("coordinator/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("coordinator/runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("coordinator/comparisons/<int:pk>/", views.comparison_detail, name="comparison_detail"),
    path("chances/", chance_views.my_chances, name="my_chances"),
    path("schedule/", views.my_schedule, name="my_schedule"),
    path("calendar/", calendar_views.calendar_page, name="calendar_page"),
    path("calendar/regenerate/", calendar_views.calendar_regenerate, name="calendar_regenerate"),
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("schedule/assignments/<int:pk>/why/", views.assignment_why, name="assignment_why"),
]
