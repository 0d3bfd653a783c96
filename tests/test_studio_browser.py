"""The planning studio in a real browser: headless Chromium (selenium) opens the page, a
station is added by clicking the map, and the covered count shown equals what the Python
API (:class:`~coverage.engine.whatif.AuditState`, on an audit of its own) gives for the same
click. ``STUDIO_SCREENSHOT=path`` also saves a picture of the page (the README's)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from coverage import model_county, run_audit
from coverage.studio import Studio, create_app
from coverage.studio.server import start_in_thread

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else shutil.which("chromedriver")
_ABSENT = "headless Chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason=_ABSENT),
    pytest.mark.filterwarnings("ignore::coverage.errors.CoverageWarning"),
]
TOKEN = "browser-test-token"


@pytest.fixture
def page():
    from selenium.webdriver.chrome.service import Service

    mc = model_county()
    studio = Studio(mc.network, mc.facilities, mc.demand, zones=mc.zones, candidates=mc.candidates)
    srv = start_in_thread(create_app(studio, token=TOKEN, lang="both"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900", "--disable-dev-shm-usage",
                "--lang=zh-CN"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        yield driver, srv, studio, mc
    finally:
        driver.quit()
        srv.stop()


def _wait(driver, script: str, want: str, timeout: float = 20.0) -> None:
    t0 = time.monotonic()
    while str(driver.execute_script(script)) != want:
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{script} never became {want!r}: {driver.get_log('browser')}")
        time.sleep(0.05)


def _covered(driver) -> int:
    return int(driver.execute_script("return document.querySelector('#figures tr[data-key=radius] .count').textContent"))


_FREE_PIXEL = """
const [x0, y0] = arguments;
const m = window.studio.map, S = window.studio.state();
const near = (x, y) => S.demand.lon.some((lon, i) => { const p = m.latLngToContainerPoint([S.demand.lat[i], lon]);
  return Math.hypot(p.x - x, p.y - y) < 12; });
for (let r = 0; r <= 40; r += 4) for (let a = 0; a < 360; a += 30) {
  const x = x0 + r * Math.cos(a * Math.PI / 180), y = y0 + r * Math.sin(a * Math.PI / 180);
  if (!near(x, y)) return [Math.round(x), Math.round(y)];
}
return null;
"""


def test_click_adds_a_station_and_the_count_is_the_python_apis(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver, srv, studio, mc = page
    driver.get(f"{srv.base}/?token={TOKEN}")
    _wait(driver, "return document.body.dataset.ready", "1")
    before = _covered(driver)
    assert before == run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False).coverage.count("radius")
    # the best candidate site: a click there must change the count
    from coverage.studio.scenarios import rank_candidates

    best = rank_candidates(studio, top=1)[0]
    p = driver.execute_script("const q = window.studio.map.latLngToContainerPoint([arguments[1], arguments[0]]); return [q.x, q.y];",
                              best["lon"], best["lat"])  # fmt: skip
    x, y = driver.execute_script(_FREE_PIXEL, p[0], p[1])
    el = driver.find_element(By.ID, "map")
    ActionChains(driver).move_to_element_with_offset(el, x - el.size["width"] // 2, y - el.size["height"] // 2).click().perform()
    _wait(driver, "return document.body.dataset.version", "1")
    shown = _covered(driver)
    lon, lat = driver.execute_script("const q = window.studio.map.containerPointToLatLng([arguments[0], arguments[1]]); return [q.lng, q.lat];", x, y)
    # the Python API on an audit of its own: the station at the road point nearest the click
    own = run_audit(mc.network, mc.facilities, mc.demand, with_service_areas=False).state
    snap = own.engine.snap(np.array([studio.to_metric(lon, lat)]))
    expected = int(own.add_facility(snap.proj_xy[0]).covered_radius.sum())
    assert shown == expected
    assert shown != before
    assert driver.execute_script("return document.querySelectorAll('.fac-list li.new').length") == 1
    shot = os.environ.get("STUDIO_SCREENSHOT")
    if shot:
        driver.execute_script("window.studio.map.closePopup();")
        driver.save_screenshot(shot)


def test_undo_in_the_page_restores_the_count_after_another_clients_edit(page):
    """Another client adds a station (the Python API); the page's undo undoes it, notices
    the version it missed and reloads the server's state."""
    from selenium.webdriver.common.by import By

    from coverage.studio.scenarios import rank_candidates

    driver, srv, studio, _mc = page
    driver.get(f"{srv.base}/?token={TOKEN}")
    _wait(driver, "return document.body.dataset.ready", "1")
    before = _covered(driver)
    best = rank_candidates(studio, top=1)[0]
    studio.add(best["lon"], best["lat"])
    assert studio.summary().count("radius") != before
    driver.execute_script("document.getElementById('undo').disabled = false;")  # the page has not seen the edit yet
    driver.find_element(By.ID, "undo").click()
    _wait(driver, "return document.body.dataset.version", "2")
    assert _covered(driver) == before == studio.summary().count("radius")


def test_the_page_without_the_token_is_refused(page):
    driver, srv, _studio, _mc = page
    for url in (f"{srv.base}/", f"{srv.base}/?token=wrong"):
        driver.get(url)
        assert "session token" in driver.page_source and "studio-config" not in driver.page_source


def test_drag_moves_a_station_and_close_removes_it(page):
    """Dragging a facility's marker moves it (to the nearest road point); its popup's close
    button closes it; the counts shown are those of a state built from scratch."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from coverage.engine.engine import Engine
    from coverage.engine.whatif import AuditState

    driver, srv, studio, mc = page
    driver.get(f"{srv.base}/?token={TOKEN}")
    _wait(driver, "return document.body.dataset.ready", "1")

    def scratch() -> int:
        eng = Engine.build(mc.network, compact=False)
        xy = np.array([s.xy for s in studio.open_stations()])
        return int(AuditState.build(eng, xy, eng.xy(mc.demand), warn_far=False).result.covered_radius.sum())

    marker = driver.find_elements(By.CSS_SELECTOR, ".st-icon")[0]
    ActionChains(driver).drag_and_drop_by_offset(marker, 70, 50).perform()
    _wait(driver, "return document.body.dataset.version", "1")
    moved = [s for s in studio.open_stations() if s.moved]
    assert len(moved) == 1 and studio.log[-2][0] == "close" and studio.log[-1][0] == "open"
    assert _covered(driver) == studio.summary().count("radius") == scratch()
    key = moved[0].key
    driver.execute_script("window.studio.map.closePopup();")
    row = driver.find_element(By.CSS_SELECTOR, f".fac-list li[data-key='{key}'] button")
    row.click()
    _wait(driver, "return document.body.dataset.version", "2")
    assert not studio.stations[key].open
    assert _covered(driver) == scratch()
    assert driver.execute_script(f"return document.querySelectorAll(\".fac-list li[data-key='{key}']\").length") == 0


def test_a_click_on_a_home_shows_it_and_adds_nothing(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver, srv, studio, _mc = page
    driver.get(f"{srv.base}/?token={TOKEN}")
    _wait(driver, "return document.body.dataset.ready", "1")
    x, y = driver.execute_script("const S = window.studio.state(), m = window.studio.map;"
                                 "const q = m.latLngToContainerPoint([S.demand.lat[0], S.demand.lon[0]]); return [q.x, q.y];")  # fmt: skip
    el = driver.find_element(By.ID, "map")
    ActionChains(driver).move_to_element_with_offset(el, round(x) - el.size["width"] // 2, round(y) - el.size["height"] // 2).click().perform()
    _wait(driver, "return document.querySelectorAll('.leaflet-popup').length", "1")
    assert studio.version == 0 and driver.execute_script("return document.body.dataset.version") == "0"
    assert studio.base.demand["name"].iloc[0] in driver.find_element(By.CSS_SELECTOR, ".leaflet-popup").text
