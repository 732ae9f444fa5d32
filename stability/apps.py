from django.apps import AppConfig


class StabilityConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'stability'
