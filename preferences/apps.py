from django.apps import AppConfig


class PreferencesConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'preferences'

    def ready(self) -> None:
        # Register the tasks in every process (web, worker, command): the notification services queue them by name.
        from preferences import tasks  # noqa: F401
