from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from accounts.api import views

auth_urlpatterns: list[URLPattern | URLResolver] = [
    path("register", views.UserRegisterApi.as_view(), name="register"),
    path("login", views.UserLoginApi.as_view(), name="login"),
    path("refresh", views.TokenRefreshApi.as_view(), name="refresh"),
    path("logout", views.UserLogoutApi.as_view(), name="logout"),
    path("me", views.UserMeApi.as_view(), name="me"),
]

security_urlpatterns: list[URLPattern | URLResolver] = [
    path("2fa/setup", views.TwoFactorSetupApi.as_view(), name="2fa-setup"),
    path("2fa/verify", views.TwoFactorVerifyApi.as_view(), name="2fa-verify"),
    path("2fa/disable", views.TwoFactorDisableApi.as_view(), name="2fa-disable"),
    path("2fa/status", views.TwoFactorStatusApi.as_view(), name="2fa-status"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/", include((auth_urlpatterns, "auth"))),
    path("security/", include((security_urlpatterns, "security"))),
]
