"""Settings of the servers bench_rest.py measures: the production settings, plus one baseline URL."""

from __future__ import annotations

from exchange.settings.base import *  # noqa: F403 - these settings are the base ones, extended

ROOT_URLCONF = "rest_urls"
