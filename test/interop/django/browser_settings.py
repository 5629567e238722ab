"""
settings.py plus what a Django site serving HTML pages needs: templates for Django's own
LoginView, CSRF middleware on its forms, and where login sends the user. Only the browser test
(test/browser/spa.test.ts, through `runserver`) uses it; settings.py itself stays unchanged so the
interop tests' migrated template database (named by a hash of settings.py) is reused.
"""
import os

from settings import *  # noqa: F401,F403
from settings import MIDDLEWARE

HERE = os.path.dirname(os.path.abspath(__file__))

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(HERE, "templates")],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
MIDDLEWARE = [
    *MIDDLEWARE,
    "django.middleware.csrf.CsrfViewMiddleware",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/app/"
