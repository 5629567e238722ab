"""
settings.py with sessions in Django's cache, in Redis through django-redis (Debian's
python3-django-redis 5.2 for Django 3.2): SESSION_ENGINE = cache, and the default cache from the
bridge's own DJANGO_CACHE_* variables, so one env describes both sides. Only
test/interop/cache-sessions.test.ts uses it; settings.py itself stays unchanged so the interop
tests' migrated template database (named by a hash of settings.py) is reused.

DJANGO_CACHE_PICKLE_VERSION, when set, is django-redis's PICKLE_VERSION option (its default is
pickle.DEFAULT_PROTOCOL).
"""
import os

from settings import *  # noqa: F401,F403

SESSION_ENGINE = "django.contrib.sessions.backends.cache"

_options = {}
if os.environ.get("DJANGO_CACHE_PICKLE_VERSION"):
    _options["PICKLE_VERSION"] = int(os.environ["DJANGO_CACHE_PICKLE_VERSION"])

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ["DJANGO_CACHE_URL"],
        "KEY_PREFIX": os.environ.get("DJANGO_CACHE_KEY_PREFIX", ""),
        "VERSION": int(os.environ.get("DJANGO_CACHE_VERSION", "1")),
        "OPTIONS": _options,
    }
}
