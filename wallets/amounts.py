"""Amounts at the edge: the parsing and formatting of `exchange.core.money`, where they live."""

from __future__ import annotations

from exchange.core.money import parse_amount, plain

__all__ = ["parse_amount", "plain"]
