"""The admin site: django-otp's, which lets in only staff whose session passed a second factor.

Staff sign in through the site's own two-step login (password, then code) instead of the admin's
one-page form, which makes them pick their device from a list by hand. They land on an operations
dashboard (exchange/admin_dashboard.py) and see the models their role works with, grouped by that
work rather than by Django app: Compliance and Support the KYC and AML screens, Treasury the wallets,
the superuser everything, with the framework's own models (2FA devices, token blacklist) last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.views.decorators.http import require_POST
from django_otp.admin import OTPAdminSite

from accounts.selectors import authenticated_user
from accounts.services import has_two_factor
from exchange.admin_dashboard import can_run_ledger_audit, dashboard_for
from exchange.core.admin import UsdtPrices
from wallets.audit import run_audit
from wallets.audit_runs import record_audit


@dataclass(frozen=True)
class Section:
    """A group of models on the index and in the sidebar, for the staff roles (groups) that work with it."""

    name: str
    slug: str
    roles: tuple[str, ...]  # accounts.roles.ROLES names; the superuser sees every section
    models: tuple[str, ...]  # "app_label.model_name", in the order shown


SECTIONS = (
    Section("Compliance", "compliance", ("Compliance", "Support"), (
        "kyc.verification", "kyc.amlflag", "wallets.withdrawal", "kyc.amlevent", "kyc.sanctionsentry",
        "kyc.levellimit", "accounts.auditevent",
    )),
    Section("Treasury", "treasury", ("Treasury",), (
        "wallets.asset", "wallets.coldwallettransfer", "wallets.coldwallet", "wallets.coldwalletaddresschange",
        "wallets.withdrawal", "wallets.deposit", "wallets.ledgeraccount", "wallets.journalentry",
    )),
    Section("Users", "users", ("Compliance", "Support"), ("accounts.user", "auth.group")),
    Section("Markets", "markets", (), ("trading.market", "trading.order", "trading.trade", "apikeys.apikey")),
)  # fmt: skip
SYSTEM = Section("System", "system", (), ())  # every other model: the superuser's only


def sections_of(user: Any) -> set[str]:
    """Return the slugs of the sections a staff member works in (remembered on the user for the request)."""
    cached: set[str] | None = getattr(user, "_admin_sections", None)
    if cached is not None:
        return cached
    if not (user.is_active and user.is_staff):
        slugs: set[str] = set()
    elif user.is_superuser:
        slugs = {section.slug for section in (*SECTIONS, SYSTEM)}
    else:
        roles = set(user.groups.values_list("name", flat=True))
        slugs = {section.slug for section in SECTIONS if roles & set(section.roles)}
    user._admin_sections = slugs
    return slugs


class ExchangeAdminSite(OTPAdminSite):  # type: ignore[misc]  # django-otp ships no types
    """The default `admin.site` (exchange.apps.ExchangeAdminConfig): staff need a session with a second factor."""

    site_header = "Exchange administration"
    site_title = "Exchange admin"
    index_title = "Operations"

    def __init__(self, name: str = "admin") -> None:
        # django-otp's site names itself "otpadmin"; the default site keeps Django's name, so that
        # reverse("admin:...") and the apps' admin templates find it.
        super().__init__(name)

    def login(self, request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        user = request.user
        if user.is_authenticated and user.is_active:
            if not user.is_staff:
                messages.error(request, "Your account has no access to the administration.")
                return redirect("home")
            if not has_two_factor(user):
                messages.warning(
                    request, "The administration needs two-factor authentication: turn it on here, then open it again."
                )
                return redirect("accounts:security")
            # 2FA is on but this session never passed it: sign in again, with the code this time.
            logout(request)
        return redirect(f"{reverse('accounts:login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """Return the models by section of work (an app's own page keeps Django's list of its models)."""
        if app_label is not None:
            return list(super().get_app_list(request, app_label))
        permitted = {
            f"{entry['model']._meta.app_label}.{entry['model']._meta.model_name}": entry
            for app in self._build_app_dict(request).values()
            for entry in app["models"]
        }
        visible = sections_of(request.user)
        placed = {label for section in SECTIONS for label in section.models}
        rest = tuple(sorted((label for label in permitted if label not in placed), key=lambda k: permitted[k]["name"]))
        sections = []
        for section in (*SECTIONS, Section(SYSTEM.name, SYSTEM.slug, (), rest)):
            entries = [permitted[label] for label in section.models if label in permitted]
            if section.slug in visible and entries:
                sections.append({
                    "name": section.name,
                    "app_label": section.slug,
                    "app_url": f"{reverse('admin:index', current_app=self.name)}#{section.slug}",
                    "has_module_perms": True,
                    "models": entries,
                })  # fmt: skip
        return sections

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        user = authenticated_user(request)
        context = {
            "dashboard": dashboard_for(user=user, sections=sections_of(user)),
            "prices": UsdtPrices(),
            **(extra_context or {}),
        }
        response: TemplateResponse = super().index(request, context)
        return response

    def get_urls(self) -> list[URLResolver | URLPattern]:
        urls: list[URLResolver | URLPattern] = super().get_urls()
        audit = path("ledger-audit/", self.admin_view(require_POST(self.ledger_audit_view)), name="ledger_audit")
        return [audit, *urls]

    def ledger_audit_view(self, request: HttpRequest) -> HttpResponse:
        """Run the ledger audit now (treasury, superuser) and record it as the dashboard's last one."""
        user = authenticated_user(request)
        if not can_run_ledger_audit(user, sections_of(user)):
            raise PermissionDenied
        run = record_audit(run_audit(), source=f"admin: {user.username}")
        if run.ok:
            messages.success(request, "Ledger OK: every invariant holds.")
        else:
            messages.error(request, f"Ledger BROKEN: {run.problem_count} problem(s), listed on the dashboard.")
        return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
