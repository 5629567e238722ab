"""
Views the interop driver calls through django.test.Client (login, logout, whoami, private), and
the pages the browser test (test/browser/spa.test.ts) opens in Chromium: Django's own LoginView and a
login-required page hosting the test SPA.
"""
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def login_view(request):
    user = authenticate(
        request,
        username=request.POST.get("username"),
        password=request.POST.get("password"),
    )
    if user is None:
        return JsonResponse({"ok": False}, status=401)
    login(request, user)
    return JsonResponse({"ok": True, "id": str(user.pk)})


@csrf_exempt
def logout_view(request):
    logout(request)
    return JsonResponse({"ok": True})


def whoami_view(request):
    user = request.user
    return JsonResponse({"id": str(user.pk) if user.is_authenticated else None})


# The test SPA: a page Django serves only to a logged-in user, loading the browser client
# (served at /spa/ by the test's front proxy) and the SPA script that uses it.
SPA_PAGE = """<!doctype html>
<html>
  <head><title>SPA</title></head>
  <body>
    <h1>SPA</h1>
    <p id="user">loading</p>
    <script type="module" src="/spa/app.js"></script>
  </body>
</html>
"""


@login_required
def spa_view(request):
    return HttpResponse(SPA_PAGE)


@login_required(login_url="/login/")
def private_view(request):
    """A page of Django's own that only a logged-in user sees (else: redirect to login)."""
    return JsonResponse({"id": str(request.user.pk)})


urlpatterns = [
    path("login/", login_view),
    path("logout/", logout_view),
    path("whoami/", whoami_view),
    path("private/", private_view),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("app/", spa_view),
    # Django's own password change view: set_password + save + update_session_auth_hash, which
    # cycles the session key (the change-feed tests drive it).
    path("password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", whoami_view, name="password_change_done"),
]
