from django.apps import AppConfig


class StabilityConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'stability'

    def ready(self) -> None:
        # admin registrations of the swap market; the receivers of allocation's signals
        from stability import receivers  # noqa: F401
        from stability.market import admin  # noqa: F401
