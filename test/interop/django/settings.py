"""
Minimal Django project for the live interop tests. Everything comes from environment variables
(set by test/helpers/django.ts), using the bridge's own variable names where both sides read the
same setting, so one env describes both. Django 3.2 (Debian's python3-django) runs it.
"""
import os
from urllib.parse import unquote, urlparse

import django


def _env(name, default=None):
    value = os.environ.get(name, "").strip()
    return value if value else default


def _list(name, default):
    value = _env(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


_db = urlparse(_env("DJANGO_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))

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

SECRET_KEY = _env("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    raise RuntimeError("DJANGO_SECRET_KEY is required")

# SECRET_KEY_FALLBACKS only exists from Django 4.1; 3.2 ignores unknown settings, but set it only
# where it means something so nobody reads this file as "3.2 honours fallbacks".
if django.VERSION >= (4, 1):
    SECRET_KEY_FALLBACKS = _list("DJANGO_SECRET_KEY_FALLBACKS", [])

# 3.1/3.2 transitional setting: "sha1" makes Django write legacy-format session rows and sha1
# session auth hashes, which the bridge reads with DJANGO_LEGACY_SESSION_FORMAT/LEGACY_SHA1.
if django.VERSION < (4, 0) and _env("DJANGO_DEFAULT_HASHING_ALGORITHM"):
    DEFAULT_HASHING_ALGORITHM = _env("DJANGO_DEFAULT_HASHING_ALGORITHM")

_ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}
SESSION_ENGINE = _ENGINES.get(_env("DJANGO_SESSION_ENGINE", "db"), _env("DJANGO_SESSION_ENGINE", "db"))
SESSION_COOKIE_NAME = _env("DJANGO_SESSION_COOKIE_NAME", "sessionid")
SESSION_COOKIE_AGE = int(_env("DJANGO_SESSION_COOKIE_AGE", "1209600"))

_HASHERS = {
    "pbkdf2_sha256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "pbkdf2_sha1": "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "bcrypt_sha256": "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "bcrypt": "django.contrib.auth.hashers.BCryptPasswordHasher",
    "scrypt": "django.contrib.auth.hashers.ScryptPasswordHasher",
    "sha1": "django.contrib.auth.hashers.SHA1PasswordHasher",
    "md5": "django.contrib.auth.hashers.MD5PasswordHasher",
    "unsalted_sha1": "django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher",
    "unsalted_md5": "django.contrib.auth.hashers.UnsaltedMD5PasswordHasher",
}
# Every hasher Django 3.2 has (Crypt aside: Python's crypt module is deprecated), the default
# first, so Django can verify whatever the bridge writes and the tests can create each kind.
PASSWORD_HASHERS = [
    _HASHERS.get(h, h)
    for h in _list(
        "DJANGO_PASSWORD_HASHERS",
        [
            "pbkdf2_sha256",
            "pbkdf2_sha1",
            "argon2",
            "bcrypt_sha256",
            "bcrypt",
            "sha1",
            "md5",
            "unsalted_sha1",
            "unsalted_md5",
        ],
    )
]

AUTHENTICATION_BACKENDS = _list(
    "DJANGO_AUTH_BACKENDS", ["django.contrib.auth.backends.ModelBackend"]
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "urls"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
DEBUG = False
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# cached_db reads its cache first; LocMemCache lives in one djangoctl process only, so every
# invocation sees the database, which is what the bridge reads too.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING_CONFIG = None
