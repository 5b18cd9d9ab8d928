from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("register", views.register_view, name="register"),
    path("login", views.login_view, name="login"),
    path("login/code", views.login_code_view, name="login-code"),
    path("logout", views.logout_view, name="logout"),
    path("security", views.security_view, name="security"),
]
