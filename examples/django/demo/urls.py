from django.contrib import admin
from django.urls import include, path

from demo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("app/", views.spa, name="spa"),
    # Django's own LoginView, LogoutView, PasswordChangeView (and the reset views, unused here).
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
