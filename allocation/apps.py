from django.apps import AppConfig


class AllocationConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'allocation'

    def ready(self) -> None:
        # Register the tasks in every process (web, worker, command): services queue them by name.
        from allocation import tasks  # noqa: F401
        from allocation.notifications import notify_schedule_published
        from allocation.receivers import preferences_changed_receiver
        from allocation.signals import schedule_published
        from preferences.signals import preferences_changed

        preferences_changed.connect(preferences_changed_receiver, dispatch_uid="allocation.chances")
        schedule_published.connect(notify_schedule_published, dispatch_uid="allocation.notify_published")
