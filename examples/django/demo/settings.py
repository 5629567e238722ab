"""
The demo's Django settings. Everything that the bridge must agree with is read from the same
environment variables the bridge reads (DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_SESSION_ENGINE,
DJANGO_SESSION_COOKIE_NAME, DJANGO_PASSWORD_HASHERS), so one environment describes both sides and
they cannot drift apart. Works with Debian's Django 3.2 and with current Django.
"""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import django

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name, default=None):
    value = os.environ.get(name, "").strip()
    return value if value else default


SECRET_KEY = _env("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    raise RuntimeError("DJANGO_SECRET_KEY is required (the bridge reads the same variable)")

# A demo: runserver serves the admin's static files only with DEBUG on.
DEBUG = _env("DJANGO_DEBUG", "true") == "true"
ALLOWED_HOSTS = [h.strip() for h in _env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")]

_db = urlparse(_env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/djb_demo"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_db.path.lstrip("/")),
        "USER": unquote(_db.username or "postgres"),
        "PASSWORD": unquote(_db.password or ""),
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": str(_db.port or 5432),
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "demo",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The bridge reads Django's session rows in Postgres: a database-backed engine ("db" here;
# "cached_db" and "signed_cookies" work too, with the same value on the bridge).
_ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}
SESSION_ENGINE = _ENGINES.get(_env("DJANGO_SESSION_ENGINE", "db"), _env("DJANGO_SESSION_ENGINE"))
SESSION_COOKIE_NAME = _env("DJANGO_SESSION_COOKIE_NAME", "sessionid")
# HttpOnly (Django's default, spelled out): the SPA must never read the session cookie.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The bridge's DJANGO_PASSWORD_HASHERS, in its order: the first one hashes new passwords on both
# sides. scrypt exists only from Django 4.0, so older Django skips it.
_HASHERS = {
    "pbkdf2_sha256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "pbkdf2_sha1": "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "bcrypt_sha256": "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "scrypt": "django.contrib.auth.hashers.ScryptPasswordHasher",
}
PASSWORD_HASHERS = [
    _HASHERS.get(name.strip(), name.strip())
    for name in _env(
        "DJANGO_PASSWORD_HASHERS", "pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256,scrypt"
    ).split(",")
    if name.strip() and not (name.strip() == "scrypt" and django.VERSION < (4, 0))
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/app/"
LOGOUT_REDIRECT_URL = "/"

STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
