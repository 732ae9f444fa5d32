"""/api/v1/ routes of the fairness app: the operation integrations expect (DESIGN §10), the computation it starts
and the stored values as resources. The computation id is matched loosely and checked in the view, so a bad id is a
JSON 404, never Django's HTML one."""

from django.urls import path, re_path

from fairness import api

urlpatterns = [
    path("game-theory/shapley-allocation", api.ShapleyAllocationView.as_view(), name="shapley-allocation"),
    re_path(r"^shapley-computations/(?P<pk>[^/.]+)/$", api.ShapleyComputationView.as_view(),
            name="shapley-computation"),
    path("shapley-values/", api.ShapleyValuesView.as_view(), name="shapley-values"),
]
