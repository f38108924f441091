"""Content-Security-Policy violations in a browser context, from both places Chromium
tells of them: the ``securitypolicyviolation`` event in each document (recorded by a
script Playwright adds before the page's own, which no page policy can block) and the
console's "Refused to ..." errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var what = e.effectiveDirective + " " + (e.blockedURI || "inline");
  window.__csp.push(what + " at " + e.documentURI);
});
"""


@dataclass
class CspWatch:
    console: list[str] = field(default_factory=list)

    def page_violations(self, page: Any) -> list[str]:
        try:
            return list(page.evaluate("window.__csp || []"))
        except Exception:  # noqa: BLE001 - a download or a PDF has no such window
            return []


def watch_csp(page: Any) -> CspWatch:
    watch = CspWatch()
    page.context.add_init_script(_LISTENER)

    def on_console(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            watch.console.append(f"{text} at {page.url}")

    page.on("console", on_console)
    return watch
