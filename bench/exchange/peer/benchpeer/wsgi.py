"""WSGI entry point for gunicorn: `gunicorn benchpeer.wsgi:application`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchpeer.settings")
application = get_wsgi_application()
