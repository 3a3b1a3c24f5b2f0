"""The built book, opened in headless Chromium the way a reader opens it.

The book is built once per session with ``jupyter-book build -W --keep-going`` into a temporary
folder (``book/_build`` is left alone). Then ``index.html`` and every page of ``book/_toc.yml``
are opened through ``file://`` URLs; on each page every image must decode (``naturalWidth > 0``),
every link into the book must reach a built file (and, with a ``#fragment``, an element with
that id), and every local stylesheet, script or font must load. The toc is the contract: a toc
page missing from the build fails.

A full-page screenshot of :data:`SCREENSHOT_PAGE` is written to ``$FSA_SCREENSHOT_DIR`` when
set, else to ``screenshots/`` beside the build, and its path is printed.

Chromium and chromedriver come from Debian (``.ci/install-browser``, which ``make test`` runs
where it can: as root with apt-get); Selenium is given both paths, so Selenium Manager never
downloads a driver. Host-name resolution is disabled in the browser, so a page that needs the
network to show an image fails here instead of in a reader's offline copy. On a machine without
Chromium the browser tests are skipped with one line saying how to run them, except under CI
(``CI=true`` or ``1``), where a missing browser is a failure.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import cv2
import numpy as np
import pytest
import yaml

from conftest import missing_browser

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
PAGE_TIMEOUT_S = 60
WINDOW = (1280, 1024)


def toc_pages(toc_file: Path) -> list[str]:
    """Docnames of the toc, in reading order: the root, then every ``file:`` entry at any depth."""
    toc = yaml.safe_load(toc_file.read_text())
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(p).with_suffix("")) for p in pages]


PAGES = toc_pages(BOOK / "_toc.yml")
#: The page shot for inspection: the first table page, or the root page while the book has none.
SCREENSHOT_PAGE = next((p for p in PAGES if p.startswith("notebooks/table")), PAGES[0])
#: Table pages without a figure to require: Table 1 (the architecture's shapes, drawn on the
#: architecture page).
TABLES_WITHOUT_FIGURE = ("1",)


def needs_figure(page: str) -> bool:
    """Whether ``page`` is a table page that must show at least one decoded figure."""
    table = re.fullmatch(r"notebooks/table(\d+)", page)
    return table is not None and table.group(1) not in TABLES_WITHOUT_FIGURE


class _Ids(HTMLParser):
    """Every ``id`` (and legacy ``<a name>``) of a static HTML file: the targets of fragments."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value or "")


_ID_CACHE: dict[Path, set[str]] = {}


def _ids_of(path: Path) -> set[str]:
    if path not in _ID_CACHE:
        parser = _Ids()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        _ID_CACHE[path] = parser.ids
    return _ID_CACHE[path]


def _local_target(url: str) -> tuple[Path, str] | None:
    """(file, fragment) of a ``file://`` URL, or None for any other scheme (external links)."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(url2pathname(parts.path)), unquote(parts.fragment)


def broken_links(hrefs: list[str], html_root: Path) -> list[str]:
    """The links among ``hrefs`` (absolute URLs, as the browser resolved them) that are broken:
    outside the build, to a missing file, or to a missing ``#fragment`` of an HTML page."""
    root = html_root.resolve()
    problems = []
    for href in sorted(set(hrefs)):
        target = _local_target(href)
        if target is None:
            continue
        path, fragment = target
        path = path.resolve()
        if path.is_dir():
            path = path / "index.html"
        if not path.is_relative_to(root):
            problems.append(f"{href}: outside the built book")
        elif not path.is_file():
            problems.append(f"{href}: no such file in the build")
        elif fragment and path.suffix == ".html" and fragment not in _ids_of(path):
            problems.append(f"{href}: no element with id {fragment!r} in {path.relative_to(root)}")
    return problems


# Loads every image eagerly, waits for each to decode, and reports its size (0 when broken).
_IMAGES_JS = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
Promise.all(imgs.map(img => img.decode().then(() => '', err => String(err)))).then(errors =>
  done(imgs.map((img, k) => ({src: img.getAttribute('src') || '', url: img.currentSrc || img.src,
                               width: img.naturalWidth, error: errors[k]}))));
"""

_LINKS_JS = """
return {
  anchors: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  resources: Array.from(document.querySelectorAll('link[href]')).map(l => l.href)
    .concat(Array.from(document.querySelectorAll('script[src]')).map(s => s.src)),
};
"""


#: How many images of the page's content (not the theme's logo) decoded.
_FIGURES_JS = """
return Array.from((document.querySelector('main') || document.body).querySelectorAll('article img'))
  .filter(img => img.complete && img.naturalWidth > 0).length;
"""


class Build(NamedTuple):
    html: Path  # the root of the built HTML
    seconds: float


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Build:
    """The book built once, with warnings as errors, into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    cli = Path(sys.executable).with_name("jupyter-book")
    assert cli.is_file(), f"{cli} not found: install the project with its 'book' extra"
    start = time.perf_counter()
    # The book renders the committed results store, not the temporary one the notebook tests use.
    env = {k: v for k, v in os.environ.items() if k != "FSA_RESULTS"}
    run = subprocess.run([str(cli), "build", "-W", "--keep-going", "--path-output", str(out), str(BOOK)],
                         capture_output=True, text=True, timeout=600, env=env)
    seconds = time.perf_counter() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    causes = "\n".join(line for line in log.splitlines() if re.search(r"WARNING|ERROR|Error:", line))
    assert run.returncode == 0, (f"jupyter-book build -W failed (exit {run.returncode}) after {seconds:.0f} s:\n"
                                 f"{causes}\n--- end of the build log ---\n{log[-4000:]}")
    html = out / "_build" / "html"
    assert (html / "index.html").is_file(), f"the build wrote no {html / 'index.html'}:\n{log[-4000:]}"
    return Build(html, seconds)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Debian Chromium driven by Debian's chromedriver; never downloads anything.

    Where either is missing, ``tests/conftest.py`` has skipped the tests that use this fixture,
    except under CI (``CI=true`` or ``1``), where they are mandatory and fail here.
    """
    problem = missing_browser()
    if problem:
        pytest.fail(f"CI: the browser checks are mandatory: {problem}", pytrace=False)
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    driver.set_script_timeout(PAGE_TIMEOUT_S)
    yield driver
    driver.quit()


def _wait(driver, condition) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, PAGE_TIMEOUT_S).until(condition)


def _open(driver, path: Path) -> None:
    driver.get(path.resolve().as_uri())
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def check_page(driver, html_root: Path, figure: bool = False) -> list[str]:
    """Every problem of the page open in ``driver``: a browser error page, an empty page, images
    that do not decode, broken internal links, missing local resources, local-file errors logged;
    with ``figure``, a page whose content shows no decoded image."""
    # A missing file keeps its URL in the address bar but loads Chromium's error document.
    shown = driver.execute_script("return document.documentURI")
    if not shown.startswith("file://"):
        return [f"the browser shows {shown} (an error page) instead of {driver.current_url}"]
    problems = []
    if not driver.execute_script("return document.title").strip():
        problems.append("the page has no title")
    if not driver.execute_script("return (document.querySelector('main') || document.body).innerText").strip():
        problems.append("the page shows no text")
    for image in driver.execute_async_script(_IMAGES_JS):
        if not image["width"]:
            problems.append(f"image {image['src']!r} ({image['url']}) did not decode: {image['error'] or 'width 0'}")
    if figure and not driver.execute_script(_FIGURES_JS):
        problems.append("the page shows no figure (no decoded image in its content)")
    links = driver.execute_script(_LINKS_JS)
    problems += [f"link {p}" for p in broken_links(links["anchors"], html_root)]
    problems += [f"resource {p}" for p in broken_links(links["resources"], html_root)]
    # A local stylesheet, script, font or image the page asked for and could not read. Failures
    # of network resources are expected (host-name resolution is off), and script errors are not
    # counted: the theme logs harmless ones (sphinx-thebe declares THEBE_JS_URL twice).
    problems += [f"browser log: {e['message']}" for e in driver.get_log("browser")
                 if "Failed to load resource" in e["message"] and e["message"].startswith("file://")]
    return problems


def test_book_builds_without_warnings(built_book, capsys):
    html = [built_book.html / f"{page}.html" for page in PAGES]
    missing = [str(p.relative_to(built_book.html)) for p in html if not p.is_file()]
    assert not missing, f"pages of book/_toc.yml missing from the build: {missing}"
    with capsys.disabled():
        print(f"\njupyter-book build -W: {len(PAGES)} toc pages in {built_book.seconds:.1f} s -> {built_book.html}")


def test_index_lands_on_root_page(browser, built_book):
    browser.get_log("browser")  # drop what earlier pages logged
    _open(browser, built_book.html / "index.html")
    root = (built_book.html / f"{PAGES[0]}.html").resolve().as_uri()
    # index.html is a meta-refresh redirect to the root page of the toc.
    _wait(browser, lambda d: d.current_url.split("#")[0] == root
          and d.execute_script("return document.readyState") == "complete")
    problems = check_page(browser, built_book.html)
    assert not problems, "index.html -> " + PAGES[0] + ":\n  " + "\n  ".join(problems)


def pytest_generate_tests(metafunc):
    # One test per toc page. Parametrized here rather than by a mark on the function, so that
    # pytest folds the skips of every browser test (no browser installed) into one summary line.
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", PAGES)


def test_toc_page_in_browser(browser, built_book, page):
    path = built_book.html / f"{page}.html"
    assert path.is_file(), f"{page} is in book/_toc.yml but the build has no {path.name}"
    browser.get_log("browser")
    _open(browser, path)
    problems = check_page(browser, built_book.html, figure=needs_figure(page))
    assert not problems, f"{page}.html:\n  " + "\n  ".join(problems)


def test_screenshot_of_a_page(browser, built_book, capsys):
    _open(browser, built_book.html / f"{SCREENSHOT_PAGE}.html")
    # The whole page, not only the window: Chromium renders beyond the viewport on request.
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    png = base64.b64decode(shot["data"])
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "Chromium returned a screenshot that is not a PNG"
    assert image.shape[1] >= WINDOW[0] // 2 and image.shape[0] >= WINDOW[1] // 2, image.shape
    assert image.std() > 5, "the screenshot is blank"
    folder = Path(os.environ.get("FSA_SCREENSHOT_DIR") or built_book.html.parent.parent / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{Path(SCREENSHOT_PAGE).name}.png"
    partial = target.with_suffix(".png.partial")
    partial.write_bytes(png)
    partial.replace(target)
    with capsys.disabled():
        print(f"\nscreenshot of {SCREENSHOT_PAGE}.html ({image.shape[1]}x{image.shape[0]} px): {target}")
