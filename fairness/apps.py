from django.apps import AppConfig


class FairnessConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'fairness'

    def ready(self) -> None:
        # Register the tasks in every process (web, worker, command): services queue them by name.
        from allocation.loads import register_load_source
        from fairness import tasks  # noqa: F401
        from fairness.targets import SHAPLEY_LOADS, shapley_loads

        register_load_source(SHAPLEY_LOADS, shapley_loads)
