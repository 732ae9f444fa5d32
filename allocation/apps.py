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

        from allocation.outlook import rsd_top_choice_probability
        from preferences.outlook import register_top_choice_probability

        register_top_choice_probability(rsd_top_choice_probability)

        from allocation.demo_history import demo_year_created_receiver
        from preferences.signals import demo_year_created

        demo_year_created.connect(demo_year_created_receiver, dispatch_uid="allocation.demo_history")
