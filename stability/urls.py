from django.urls import path

from stability import views

urlpatterns = [
    path("coordinator/stability/", views.stability_overview, name="stability_overview"),
    path("coordinator/years/<int:label>/stability/", views.stability_year, name="stability_year"),
    path("coordinator/schedules/<int:pk>/stability/", views.stability_report_page, name="stability_report"),
    path("coordinator/schedules/<int:pk>/stability/recompute/", views.stability_recompute, name="stability_recompute"),
    path("coordinator/schedules/<int:pk>/stability/price-of-anarchy/", views.stability_price_of_anarchy,
         name="stability_price_of_anarchy"),
    path("coordinator/schedules/<int:pk>/stability/apply/", views.stability_swap_apply, name="stability_swap_apply"),
    path("coordinator/schedules/<int:pk>/stability/apply-all/", views.stability_swaps_apply_all,
         name="stability_swaps_apply_all"),
    path("coordinator/schedules/<int:pk>/publish/", views.stability_publish, name="stability_publish"),
]
