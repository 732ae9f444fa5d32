from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    path("", include("preferences.urls")),
    path("", include("allocation.urls")),
    path("", include("stability.urls")),
    path("", include("stability.market.urls")),
    path("", include("fairness.urls")),
    path("", include("auctions.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("gtsched_site.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

admin.site.site_header = "gtsched administration"
admin.site.site_title = "gtsched"

# Django's error views: JSON for paths under /api/, the product's own templates (404.html, 500.html) otherwise.
handler400 = "gtsched_site.api_errors.bad_request"
handler403 = "gtsched_site.api_errors.permission_denied"
handler404 = "gtsched_site.api_errors.page_not_found"
handler500 = "gtsched_site.api_errors.server_error"
