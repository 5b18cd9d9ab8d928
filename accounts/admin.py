from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import AuditEvent, User


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


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit log: read-only, filterable by action and date, searchable by user and address."""

    list_display = ("created_at", "action", "user", "actor", "ip", "user_agent")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("user__username", "actor__username", "ip")
    list_select_related = ("user", "actor")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
