"""
Settings of the peer: the Django + DRF + simplejwt "session -> JWT pair" endpoint that a Django
team would write instead of the bridge. Everything comes from the environment, set by
bench/exchange/run.ts:

  DATABASE_URL        postgres://user@host:port/dbname (the same database the bridge reads)
  DJANGO_SECRET_KEY   the same SECRET_KEY the bridge is given (session cookies are signed with it)
  PEER_JWT_KEY_DIR    directory holding es256-private.pem / es256-public.pem (P-256, made by the harness)
"""
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt",
]

# Only what the exchange needs: the session, and request.user from it. Fewer middlewares make
# the peer faster, so the bridge/peer ratio is conservative.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "benchpeer.urls"
WSGI_APPLICATION = "benchpeer.wsgi.application"

_db = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_db.path.lstrip("/")),
        "USER": unquote(_db.username or "postgres"),
        "PASSWORD": unquote(_db.password or ""),
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": str(_db.port or 5432),
        # Persistent connections, as any tuned deployment has (the bridge pools its connections
        # too). The default of 0 would add a Postgres connect to every request and make the peer
        # look slower than it needs to be.
        "CONN_MAX_AGE": 600,
    }
}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"

REST_FRAMEWORK = {
    # JSON only: no browsable API, which would cost template rendering on errors.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

_keys = Path(os.environ["PEER_JWT_KEY_DIR"])
SIMPLE_JWT = {
    # Same algorithm and lifetimes as the bridge's defaults (ACCESS_TOKEN_TTL=300,
    # REFRESH_TOKEN_TTL=1209600), so both sides sign the same kind of pair.
    "ALGORITHM": "ES256",
    "SIGNING_KEY": (_keys / "es256-private.pem").read_text(),
    "VERIFYING_KEY": (_keys / "es256-public.pem").read_text(),
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=300),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=1209600),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
