"""The HTML report passes axe-core (the accessibility engine browsers' own audits use)
with no violations, on a desktop (1366 px) and a phone (390 px), in real Chromium.

axe-core comes from the npm registry, its version pinned in tests/a11y/package.json and
package-lock.json (`python3 tests/a11y/install.py` in .ci/run). The test injects
axe.min.js into the page over the DevTools pipe (tests/browser.py): no Playwright, no
browser download, no network.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from report_fixtures import make_bundle

from eolneeds.report_html import write_html_report

AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PLACES = [
    ("E06000001", "Hartside"),
    ("E06000002", "Middleford"),
    ("E06000003", "Redcar Vale"),
    ("E06000004", "Northmoor"),
    ("E06000005", "St Albright & Coastal"),
]
WIDTHS = (1366, 390)

pytestmark = pytest.mark.browser


def _need_tools() -> None:
    from browser import chromium_path

    missing = []
    if chromium_path() is None or sys.platform == "win32":
        missing.append("Chromium on a POSIX system")
    if not AXE.exists():
        missing.append(f"axe-core ({AXE}; run `python3 tests/a11y/install.py`)")
    if missing:
        # CI installs both (.ci/run): there a missing tool is a failure, not a skip.
        if os.environ.get("CI"):
            pytest.fail("missing: " + ", ".join(missing))
        pytest.skip("needs " + ", ".join(missing))


def run_axe(browser, path: Path) -> list[dict]:
    """Load the page, inject axe-core, run every rule axe enables by default (WCAG 2.x A
    and AA plus best practices) and return the violations, each with its nodes."""
    page = browser.open(path)
    assert page.external_requests == []
    browser.call("Runtime.evaluate", {"expression": AXE.read_text(encoding="utf-8")},
                 session=True)
    result = browser.call("Runtime.evaluate", {
        "expression": (
            "axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify("
            "r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))"),
        "awaitPromise": True, "returnByValue": True}, session=True)
    value = result.get("result", {}).get("value")
    assert isinstance(value, str), f"axe did not run: {result}"
    return json.loads(value)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("a11y") / "report.html"
    write_html_report(make_bundle(places=PLACES), out)
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_no_axe_violations(report_path: Path, width: int) -> None:
    _need_tools()
    from browser import Browser

    with Browser(width=width, height=900) as browser:
        violations = run_axe(browser, report_path)
    assert violations == [], json.dumps(violations, indent=1)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_axe_violations_on_the_assessed_sample(assessed_sample, width: int) -> None:
    """The report an assessment of the generated sample writes (real charts, real
    suppression, England from its Fingertips download), at both widths."""
    _need_tools()
    from browser import Browser

    html = next(p for p in assessed_sample.outputs if Path(p).suffix == ".html")
    with Browser(width=width, height=844) as browser:
        violations = run_axe(browser, Path(html))
    assert violations == [], json.dumps(violations, indent=1)


def test_on_a_phone_the_comparison_is_on_screen_and_charts_keep_their_size(
        report_path: Path) -> None:
    """At 390 px every Place table shows the comparison with the ICB without scrolling
    (it follows the value), and charts keep a legible width (they scroll sideways
    rather than shrink their text)."""
    _need_tools()
    from browser import Browser

    with Browser(width=390, height=844) as browser:
        browser.open(report_path)
        browser.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        rights = browser.evaluate(
            "Array.from(document.querySelectorAll('.place td.cmp'))"
            ".map(td => td.getBoundingClientRect().right)")
        widths = browser.evaluate(
            "Array.from(document.querySelectorAll('svg.chart'))"
            ".map(s => s.getBoundingClientRect().width)")
        page_width = browser.evaluate("document.documentElement.scrollWidth")
    assert rights and max(rights) <= 390, max(rights)
    assert widths and min(widths) >= 540, min(widths)
    assert page_width <= 390  # only the named regions scroll, never the page
