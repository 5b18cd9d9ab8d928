"""The admin site: Django builds the exchange's (AdminConfig.default_site), and every app registers on it."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse

from exchange.admin_site import SECTIONS, ExchangeAdminSite


def test_every_app_registers_its_models_on_the_exchange_admin_site():
    # Given the default admin site, as exchange.apps.ExchangeAdminConfig has Django build it
    site = admin.site

    # Then it is the exchange's, under Django's own name, so that admin URLs reverse as ever
    assert isinstance(site, ExchangeAdminSite)
    assert site.name == "admin"
    assert reverse("admin:ledger_audit") == "/admin/ledger-audit/"
    # And every model its sections list was registered on it by its app's admin.py
    registered = {f"{model._meta.app_label}.{model._meta.model_name}" for model in site._registry}
    assert {label for section in SECTIONS for label in section.models} <= registered
