from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def home(request):
    """Django's own view of who is logged in: the demo's proof that a logout reached Django."""
    return render(request, "home.html")


@login_required
def spa(request):
    """The page hosting the SPA. Django serves it only to a logged-in user, like any Django page;
    the SPA's script and styles come from the same origin (/spa/, the front proxy)."""
    return render(request, "spa.html")
