from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    list_display = ("username", "email", "kyc_status", "kyc_level", "is_staff", "is_active", "date_joined")
    list_filter = ("kyc_status", "kyc_level", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("-date_joined",)
    readonly_fields = ("last_login", "date_joined", "security_changed_at")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Verification", {"fields": ("kyc_status", "kyc_level", "security_changed_at")}),
    )
