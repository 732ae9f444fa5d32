from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'auctions'

    def ready(self) -> None:
        # the receivers of allocation's signals (points awarded on publication)
        from auctions import receivers  # noqa: F401
