"""The page templates keep to the Content-Security-Policy: no inline script (a <script>
is a src= of our own or a JSON data block), no event handler attribute, no style
attribute or <style> element (except in the templates WeasyPrint lays out as PDFs,
which no browser loads). A new one would be refused by the browser, silently."""

from __future__ import annotations

import re
from pathlib import Path

import healthstack.web

TEMPLATES = Path(healthstack.web.__file__).parent / "templates"
# Laid out by WeasyPrint only (abha/card.py, compliance/notices.py), never served.
PDF_ONLY = {"abha_card.html", "compliance/_pdf_style.html"}

SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER = re.compile(r"""<[a-z][^>]*\son[a-z]+\s*=""", re.I | re.S)
STYLE_ATTR = re.compile(r"""<[a-z][^>]*\sstyle\s*=""", re.I | re.S)


def _templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        yield path.relative_to(TEMPLATES).as_posix(), path.read_text()


def test_no_inline_script_or_handler_in_any_template():
    found = []
    for name, text in _templates():
        for attrs in SCRIPT.findall(text):
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                found.append(f"{name}: inline <script{attrs}>")
        found += [f"{name}: event handler {m.group(0)[-40:]!r}" for m in HANDLER.finditer(text)]
        if "javascript:" in text.lower():
            found.append(f"{name}: javascript: URL")
    assert found == []


def test_no_inline_style_in_served_templates():
    found = []
    for name, text in _templates():
        if name in PDF_ONLY:
            continue
        found += [f"{name}: style attribute" for _ in STYLE_ATTR.finditer(text)]
        if re.search(r"<style\b", text, re.I):
            found.append(f"{name}: <style> element")
    assert found == []
