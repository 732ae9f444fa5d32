from django.apps import AppConfig


class AllocationConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'allocation'

    def ready(self) -> None:
        # Register the run task in every process (web, worker, command): services queue it by name.
        from allocation import tasks  # noqa: F401
