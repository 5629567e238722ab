"""Django's own SessionMiddleware.process_response, for each case on stdin (a JSON list): the
Set-Cookie it writes after a session is modified, at a fixed time.time(). signed_cookies engine,
so no database is needed; the header does not depend on the engine."""
import json
import sys

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="session-cookie-test-secret-key-0123456789",
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    INSTALLED_APPS=["django.contrib.sessions"],
)
django.setup()

import django.contrib.sessions.middleware as middleware  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import override_settings  # noqa: E402

out = []
for case in json.loads(sys.stdin.read()):
    middleware.time.time = lambda: case["now"]
    with override_settings(**case["settings"]):
        mw = middleware.SessionMiddleware(lambda r: HttpResponse())
        request = HttpRequest()
        mw.process_request(request)
        request.session["x"] = 1
        response = mw.process_response(request, HttpResponse())
        name = case["settings"].get("SESSION_COOKIE_NAME", "sessionid")
        morsel = response.cookies[name]
        out.append({"value": morsel.value, "header": morsel.OutputString()})
print(json.dumps(out))
