"""What a reader sees of a rendered page: its text, a section's text, a row's text, for phrase assertions."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any


def text_of(response: Any) -> str:
    """The page's text without tags and with runs of whitespace collapsed, for phrase assertions."""
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def panel(response: Any, testid: str) -> str:
    """The text of one section of the page (by its data-testid)."""
    html = response.content.decode()
    start = html.index(f'data-testid="{testid}"')
    end = html.index("</section>", start)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start:end])))


def row_text(html: str, marker: str) -> str:
    return panel_text(html, marker, "</tr>")


def panel_text(html: str, marker: str, end: str) -> str:
    """The text from the end of the tag holding `marker` to `end`."""
    start = html.index(">", html.index(marker)) + 1
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start : html.index(end, start)]))).strip()
