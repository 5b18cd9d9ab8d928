from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def words(value: str) -> str:
    """Turn a status code into words: "awaiting_confirmation" -> "Awaiting confirmation"."""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]
