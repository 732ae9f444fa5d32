from django.apps import AppConfig


class StabilityConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'stability'

    def ready(self) -> None:
        from stability import market_admin, receivers  # noqa: F401  (admin registrations; allocation's signals)
