"""Strings that users, models or documents control, made inert before a page puts them into
Markdown that allows HTML (`unsafe_allow_html=True`) or into a label (labels render Markdown
images and links): no tag, image, link or formula of theirs may render on a member's screen.

Characters are replaced by HTML character references, which read as the same characters in
Markdown text, in labels and inside raw HTML blocks alike (a backslash escape would show as a
backslash inside an HTML block)."""

from __future__ import annotations

import html
import re

# What can start markup inside a line: HTML, Markdown (links, images, emphasis, code,
# tables), $ (Streamlit's math) and : (so no bare URL becomes a link). Pages put these
# strings mid-line (or in an HTML block), so line-start markers such as - and + stay.
_ACTIVE = re.compile(r"[\\`*_{}\[\]()#!|~>$:]")


def inert(value: object, *, one_line: bool = True) -> str:
    """`value` as plain text for Markdown or HTML: every active character as a character
    reference; with `one_line`, runs of whitespace become one space."""
    text = " ".join(str(value).split()) if one_line else str(value)
    return _ACTIVE.sub(lambda m: f"&#{ord(m.group(0))};", html.escape(text, quote=True))
