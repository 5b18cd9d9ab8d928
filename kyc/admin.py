"""The compliance console: the verification review queue, AML flags, level limits, sanctions list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.selectors import authenticated_user
from exchange.core.admin import PricedAdmin, UsdtPrices, format_amount, usdt
from exchange.core.errors import DomainError
from kyc import services
from kyc.models import (
    AmlEvent,
    AmlFlag,
    Document,
    FlagStatus,
    LevelLimit,
    SanctionsEntry,
    Verification,
    VerificationDecision,
    VerificationStatus,
)


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("preview", "document_type", "content_type", "size", "dimensions", "uploaded_at")
    readonly_fields = fields

    @admin.display(description="Document")
    def preview(self, document: Document) -> SafeString:
        url = reverse("kyc:document", args=[document.pk])
        if document.is_image:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
                'style="max-width: 280px; max-height: 200px; border: 1px solid #ccc"></a>',
                url,
                url,
                document.get_document_type_display(),
            )
        return format_html('<a href="{}">Download PDF</a>', url)

    @admin.display(description="Pixels")
    def dimensions(self, document: Document) -> str:
        return f"{document.width} x {document.height}" if document.width else "—"


class DecisionInline(ReadOnlyInline):
    model = VerificationDecision
    fields = ("outcome", "reason", "decided_by", "decided_at", "channel")
    readonly_fields = fields
    verbose_name_plural = "Decision history"


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="The user reads this: say what to correct.",
    )


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The review queue: pending verifications, oldest first, unless another filter is chosen."""

    list_display = ("id", "user", "level", "status", "full_name", "country", "submitted_at", "decided_by", "decided_at")
    list_display_links = ("id", "user")
    list_filter = ("status", "level", "country")
    search_fields = ("user__username", "user__email", "full_name")
    ordering = ("submitted_at", "pk")
    list_select_related = ("user", "decided_by")
    inlines = [DocumentInline, DecisionInline]
    readonly_fields = (
        "user", "level", "status", "full_name", "date_of_birth", "country", "address", "created_at",
        "submitted_at", "decided_by", "decided_at", "rejection_reason",
    )  # fmt: skip
    fieldsets = (
        ("Applicant", {"fields": ("user", "level", "status")}),
        ("Identity details", {"fields": ("full_name", "date_of_birth", "country", "address")}),
        ("Review", {"fields": ("created_at", "submitted_at", "decided_by", "decided_at", "rejection_reason")}),
    )
    change_form_template = "admin/kyc/verification/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Open on the queue: pending only, unless the reviewer picked a status filter.
        if not any(key.startswith("status") for key in request.GET) and "q" not in request.GET:
            query = request.GET.copy()
            query["status__exact"] = VerificationStatus.PENDING
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:verification_id>/approve/", wrap(self.approve_view), name="kyc_verification_approve"),
            path("<int:verification_id>/reject/", wrap(self.reject_view), name="kyc_verification_reject"),
            *super().get_urls(),
        ]

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        obj = context.get("original")
        context["can_decide"] = bool(
            obj is not None
            and obj.status == VerificationStatus.PENDING
            and request.user.has_perm("kyc.review_verification")
        )
        return super().render_change_form(request, context, *args, **kwargs)

    def _back(self, verification_id: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:kyc_verification_change", args=[verification_id]))

    def _decision_page(
        self, request: HttpRequest, verification: Verification, action: str, form: RejectForm | None
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": verification,
            "form": form,
            "action": action,
            "title": f"{action} verification #{verification.pk}",
        }
        return TemplateResponse(request, "admin/kyc/verification/decide.html", context)

    def approve_view(self, request: HttpRequest, verification_id: int) -> HttpResponse:
        verification = get_object_or_404(Verification, pk=verification_id)
        if not request.user.has_perm("kyc.review_verification"):
            return _forbidden(request, None)
        if request.method != "POST":
            return self._decision_page(request, verification, "Approve", None)
        try:
            verification = services.approve_verification(
                verification_id=verification_id, staff=authenticated_user(request), channel="admin"
            )
        except DomainError as error:
            if error.code == "permission_denied":
                return _forbidden(request, error)
            self.message_user(request, error.message, messages.ERROR)
            return self._back(verification_id)
        self.message_user(request, f"Approved: {verification.user} is now at level {verification.level}.")
        return HttpResponseRedirect(reverse("admin:kyc_verification_changelist"))

    def reject_view(self, request: HttpRequest, verification_id: int) -> HttpResponse:
        verification = get_object_or_404(Verification, pk=verification_id)
        if not request.user.has_perm("kyc.review_verification"):
            return _forbidden(request, None)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.reject_verification(
                    verification_id=verification_id,
                    staff=authenticated_user(request),
                    reason=form.cleaned_data["reason"],
                    channel="admin",
                )
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
                return self._back(verification_id)
            self.message_user(request, f"Rejected: {verification.user} has been told why.")
            return HttpResponseRedirect(reverse("admin:kyc_verification_changelist"))
        return self._decision_page(request, verification, "Reject", form)


def _forbidden(request: HttpRequest, error: DomainError | None) -> HttpResponse:
    message = error.message if error else "Only compliance staff can decide verifications."
    return render(request, "admin/kyc/forbidden.html", {"message": message}, status=403)


@admin.register(AmlFlag)
class AmlFlagAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "created_at", "user", "rule", "severity", "status", "summary", "reviewed_by")
    list_filter = ("status", "severity", "rule")
    search_fields = ("user__username", "summary")
    list_select_related = ("user", "reviewed_by")
    readonly_fields = ("user", "rule", "severity", "summary", "details", "fingerprint", "status", "created_at",
                       "reviewed_by", "reviewed_at")  # fmt: skip
    fields = (*readonly_fields, "review_note")
    actions = ["clear_flags", "escalate_flags"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _review(self, request: HttpRequest, queryset: QuerySet[AmlFlag], status: str) -> None:
        try:
            count = services.review_aml_flags(
                flag_ids=list(queryset.values_list("pk", flat=True)), staff=authenticated_user(request), status=status
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"{count} flag(s) marked {status}.")

    @admin.action(description="Clear selected flags (no concern)", permissions=["change"])
    def clear_flags(self, request: HttpRequest, queryset: QuerySet[AmlFlag]) -> None:
        self._review(request, queryset, FlagStatus.CLEARED)

    @admin.action(description="Escalate selected flags", permissions=["change"])
    def escalate_flags(self, request: HttpRequest, queryset: QuerySet[AmlFlag]) -> None:
        self._review(request, queryset, FlagStatus.ESCALATED)


@admin.register(LevelLimit)
class LevelLimitAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("level", "can_deposit", "can_trade", "can_withdraw", "daily_withdrawal_limit", "review_threshold")
    list_editable = ("can_deposit", "can_trade", "can_withdraw", "daily_withdrawal_limit", "review_threshold")
    ordering = ("level",)


@admin.register(SanctionsEntry)
class SanctionsEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "source", "reference", "country")
    list_filter = ("source",)
    search_fields = ("name", "normalized_name", "reference")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AmlEvent)
class AmlEventAdmin(PricedAdmin):
    list_display = ("occurred_at", "user", "kind", "asset", "amount_shown", "value", "reference")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("user__username", "reference")
    fields = ("occurred_at", "user", "kind", "asset", "amount_shown", "value", "reference")
    readonly_fields = fields
    priced_columns = ("amount_shown",)

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, event: AmlEvent, prices: UsdtPrices | None = None) -> SafeString | str:
        decimals = (prices or UsdtPrices()).decimals(event.asset) if event.amount is not None else None
        if event.amount is None or decimals is None:
            return "—" if event.amount is None else f"{event.amount.normalize():,f}"
        return format_html('<span class="money">{}</span>', format_amount(event.amount, decimals=decimals))

    @admin.display(description="Value (USDT)", ordering="value_usdt")
    def value(self, event: AmlEvent) -> SafeString | str:
        return usdt(event.value_usdt)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
