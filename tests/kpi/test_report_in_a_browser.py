"""The demo's HTML report in headless Chromium: every chart drawn, no console error.

Chromium runs with ``--remote-debugging-pipe`` and is driven over the DevTools
protocol (tests/kpi/_cdp.py): the page is loaded from its file, the test asks the
browser for the laid-out size of every ``<svg>`` (the report itself has no script),
collects console messages, exceptions and failed loads, and takes a screenshot whose
path is printed. Outside CI a missing Chromium skips the test, saying why; in CI
(``CI=true``) it must run (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ._cdp import Browser

MEASURE = """JSON.stringify(Array.from(document.querySelectorAll('svg')).map(s => {
  const r = s.getBoundingClientRect();
  return {label: s.getAttribute('aria-label'), width: r.width, height: r.height,
          children: s.childElementCount};
}))"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no chromium on PATH: .ci/run installs Debian's chromium")
    print("skipping: chromium is not installed (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _inspect(executable: str, page_file: Path) -> tuple[list[dict[str, Any]], list[str],
                                                       list[dict[str, Any]], bytes]:
    """(svg sizes, urls requested, console errors and failures, screenshot png)."""
    with Browser(executable) as browser:
        targets = browser.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = browser.call("Target.attachToTarget",
                               {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Page.navigate", {"url": page_file.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        measured = json.loads(browser.call(
            "Runtime.evaluate", {"expression": MEASURE, "returnByValue": True},
            session=session)["result"]["value"])
        shot = browser.call("Page.captureScreenshot",
                            {"format": "png", "captureBeyondViewport": True}, session=session)
        browser.call("Runtime.evaluate", {"expression": "1"}, session=session)  # drain events
    requests = [e["params"]["request"]["url"] for e in browser.events
                if e.get("method") == "Network.requestWillBeSent"]
    errors = [
        e for e in browser.events
        if e.get("method") in ("Runtime.exceptionThrown", "Network.loadingFailed")
        or (e.get("method") == "Runtime.consoleAPICalled"
            and e["params"].get("type") in ("error", "warning", "assert"))
        or (e.get("method") == "Log.entryAdded"
            and e["params"]["entry"].get("level") in ("error", "warning"))
    ]
    return measured, requests, errors, base64.b64decode(shot["data"])


def _flat(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in measured if not (s["width"] > 0 and s["height"] > 0 and s["children"])]


def test_every_chart_of_the_demo_report_renders_with_no_console_error(
    demo_report_html: Path, tmp_path: Path
) -> None:
    executable = _chromium()
    html = demo_report_html.read_text(encoding="utf-8")
    expected = html.count("<svg ")
    assert expected >= 10
    measured, requests, errors, png = _inspect(executable, demo_report_html)
    screenshot = tmp_path / "kpi-report.png"
    screenshot.write_bytes(png)
    print(f"KPI report screenshot: {screenshot}")
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
    assert len(measured) == expected
    assert _flat(measured) == [], "charts not rendered"
    # the page's own file is the only request: nothing else is fetched
    assert requests == [demo_report_html.resolve().as_uri()]
    assert errors == [], f"console errors: {errors}"


def test_the_browser_check_catches_a_flat_chart_and_a_blocked_fetch(tmp_path: Path) -> None:
    executable = _chromium()
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">"
        "</head><body><svg width='0' height='40' viewBox='0 0 10 10'><rect width='5' "
        "height='5'/></svg><svg width='50' height='40'><rect width='5' height='5'/></svg>"
        "<img src='https://cdn.example.invalid/chart.png'></body></html>", encoding="utf-8")
    measured, _requests, errors, _ = _inspect(executable, page)
    assert [s["width"] for s in _flat(measured)] == [0]
    assert len(measured) == 2
    assert errors, "the blocked image must show up as a console error"
