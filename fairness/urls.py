from django.urls import path

from fairness import views

urlpatterns = [
    path("coordinator/years/<int:label>/fairness/", views.year_fairness, name="year_fairness"),
    path("coordinator/years/<int:label>/fairness/compute/", views.year_fairness_compute, name="year_fairness_compute"),
    path("coordinator/years/<int:label>/fairness/targets/", views.year_fairness_targets, name="year_fairness_targets"),
    path("fairness/", views.my_fair_share, name="my_fair_share"),
]
