"""The WSGI entry point (`application`): gunicorn gtsched_site.wsgi (README, running in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gtsched_site.settings")
application = get_wsgi_application()
