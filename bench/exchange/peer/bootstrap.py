#!/usr/bin/env python3
"""
Make the benchmark's user and log it in through real Django, then print one JSON line:
{"user_id", "session_cookie_name", "sessionid", "versions"}. Run after `manage.py migrate`, with
the same environment as the peer (see benchpeer/settings.py).

The session comes from django.test.Client.force_login, which runs django.contrib.auth.login():
a new session key, _auth_user_id / _auth_user_backend / _auth_user_hash, saved by the db engine.
That is exactly what the bridge has to read back.
"""
import json
import os
import secrets
import ssl
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchpeer.settings")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402


def versions():
    import cryptography
    import gunicorn
    import jwt
    import psycopg2
    import rest_framework
    import rest_framework_simplejwt

    from cryptography.hazmat.backends.openssl.backend import backend

    return {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "djangorestframework": rest_framework.__version__,
        "djangorestframework_simplejwt": getattr(rest_framework_simplejwt, "__version__", "unknown"),
        "pyjwt": jwt.__version__,
        "cryptography": cryptography.__version__,
        "cryptography_openssl": backend.openssl_version_text(),
        "python_ssl_openssl": ssl.OPENSSL_VERSION,
        "psycopg2": psycopg2.__version__.split()[0],
        "gunicorn": gunicorn.__version__,
    }


def main():
    # The password is random and never printed: the exchange does not use it, but the session
    # auth hash is derived from the stored password hash, so the user needs a real one.
    user = get_user_model().objects.create_user(
        username="bench", email="bench@example.com", password=secrets.token_urlsafe(24)
    )
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    print(
        json.dumps(
            {
                "user_id": user.pk,
                "session_cookie_name": settings.SESSION_COOKIE_NAME,
                "sessionid": cookie,
                "versions": versions(),
            }
        )
    )


if __name__ == "__main__":
    main()
