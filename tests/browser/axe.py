"""Accessibility checks with axe-core, run inside the page under test.

The rules are WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's experimental
``label-content-name-mismatch`` (WCAG 2.5.3: a control's accessible name contains its visible
text), which the project promises to pass and axe leaves off by default.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
EXTRA_RULES = ["label-content-name-mismatch"]

#: Runs axe on ``context`` (a selector, or the whole document) and returns its violations as
#: plain data: rule id, impact, and the offending nodes' selectors and summaries.
RUN = """async ([context, tags, extra]) => {
    const rules = Object.fromEntries(extra.map(id => [id, {enabled: true}]));
    const result = await axe.run(context || document, {
        runOnly: {type: "tag", values: tags}, rules, resultTypes: ["violations"]});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
}"""


def violations(page: Page, context: str | None = None) -> list[dict[str, t.Any]]:
    """axe's violations on ``page`` (or inside the element ``context`` selects). The script goes
    in through the DevTools protocol, so a strict Content-Security-Policy does not block it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => {" + AXE.read_text(encoding="utf-8") + "\n}")
    return t.cast(list[dict[str, t.Any]], page.evaluate(RUN, [context, TAGS, EXTRA_RULES]))


def describe(found: list[dict[str, t.Any]]) -> str:
    """One line per violation and node, for an assertion message a reader can act on."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -- {n['target']}: {n['summary']}"
        for v in found
        for n in v["nodes"]
    )
