"""Views the interop driver calls through django.test.Client: login, logout, whoami, private."""
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
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


@login_required(login_url="/login/")
def private_view(request):
    """A page of Django's own that only a logged-in user sees (else: redirect to login)."""
    return JsonResponse({"id": str(request.user.pk)})


urlpatterns = [
    path("login/", login_view),
    path("logout/", logout_view),
    path("whoami/", whoami_view),
    path("private/", private_view),
]
