"""Check the rendered book as a reader would: every TOC page exists, no internal link is broken,
and headless Chromium renders the front page (a screenshot is saved for a human to look at).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from knexa_core.errors import BuildError

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic", "--hide-scrollbars")


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key) and (key == "id" or tag == "a"):
                self.ids.add(a[key])
        ref = a.get("href") if tag in ("a", "link") else a.get("src") if tag in ("img", "script") else None
        if ref:
            self.links.append(ref)


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _is_internal(ref: str) -> bool:
    parts = urlsplit(ref)
    return not parts.scheme and not parts.netloc and not ref.startswith(("mailto:", "javascript:"))


def link_problems(html_dir: str | Path, pages: list[str]) -> list[str]:
    """Missing pages and broken internal links (file or ``#anchor``) in a built HTML site.

    Parameters
    ----------
    html_dir : folder with ``index.html``.
    pages : page names relative to ``html_dir`` without ``.html`` (from ``_toc.yml``).
    """
    root = Path(html_dir).resolve()
    problems = [f"page '{p}' listed in the table of contents is missing ({p}.html)"
                for p in pages if not (root / f"{p}.html").is_file()]
    parsed: dict[Path, _PageParser] = {}
    for page in sorted(root.rglob("*.html")):
        if "_static" in page.relative_to(root).parts or "_sources" in page.relative_to(root).parts:
            continue
        if page not in parsed:
            parsed[page] = _parse(page)
        info = parsed[page]
        for ref in info.links:
            if not _is_internal(ref):
                continue
            parts = urlsplit(ref)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            rel = page.relative_to(root)
            if not target.exists():
                problems.append(f"{rel}: broken link '{ref}' (no file {target.relative_to(root) if target.is_relative_to(root) else target})")
            elif parts.fragment and target.suffix == ".html":
                if target not in parsed:
                    parsed[target] = _parse(target)
                ids = parsed[target].ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{rel}: broken anchor '{ref}' (no id '{parts.fragment}')")
    return sorted(set(problems))


def find_chromium() -> str:
    """Path of a Chromium executable, or a :class:`BuildError` saying how to install one."""
    for name in (os.environ.get("KNEXA_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    raise BuildError("headless Chromium not found: install the Debian packages 'chromium' and "
                     "'chromium-driver' (make book does this as root) or set KNEXA_CHROMIUM")


def _chromium(url: str, *extra: str, timeout: int = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="knexa-chromium-") as profile:
        cmd = [find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BuildError(f"Chromium did not finish rendering {url} within {timeout} s") from None


CONSOLE_ERROR = re.compile(r':CONSOLE(?::\d+)?\]\s+"(Uncaught [^"]*)", source: (\S*)')


def console_errors(chromium_log: str) -> list[str]:
    """Uncaught JavaScript errors in Chromium's ``--enable-logging=stderr`` output, with their source."""
    return [f"{msg} ({src})" for msg, src in CONSOLE_ERROR.findall(chromium_log)]


def front_page(index_html: str | Path) -> Path:
    """``index_html``, or the page its ``<meta http-equiv="refresh">`` redirects to (Jupyter Book's)."""
    path = Path(index_html)
    match = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"',
                      path.read_text(encoding="utf-8", errors="replace"), re.IGNORECASE)
    return (path.parent / match.group(1)).resolve() if match else path.resolve()


def render_check(index_html: str | Path, screenshot: str | Path, pages: list[str]) -> Path:
    """Render the front page in headless Chromium, save a screenshot, check TOC links in the DOM."""
    url = front_page(index_html).as_uri()
    proc = _chromium(url, "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0", "--dump-dom")
    dom = proc.stdout
    if "<body" not in dom:
        raise BuildError(f"Chromium rendered no page for {url}")
    errors = console_errors(proc.stderr)
    if errors:
        raise BuildError("the front page raises JavaScript errors in the browser console:\n  " + "\n  ".join(errors))
    front = front_page(index_html).name
    absent = [p for p in pages if p != "index" and f"{p}.html" != front and f"{p}.html" not in dom]
    if absent:
        raise BuildError(f"the rendered front page has no navigation link to: {', '.join(absent)}")
    if 'class="math' in dom and 'class="MathJax' not in dom:
        raise BuildError("formulas on the front page were not rendered: the local MathJax "
                         "(book/_mathjax, from jupyter-server-mathjax) did not load")
    shot = Path(screenshot).resolve()
    shot.parent.mkdir(parents=True, exist_ok=True)
    _chromium(url, f"--screenshot={shot}", "--window-size=1280,1000")
    if not shot.is_file() or shot.stat().st_size < 1000:
        raise BuildError(f"Chromium saved no screenshot at {shot}")
    return shot


def check_site(html_dir: str | Path, pages: list[str], screenshot: str | Path) -> Path:
    """Link check then browser render; raise :class:`BuildError` listing every problem found."""
    problems = link_problems(html_dir, pages)
    if problems:
        raise BuildError("the built book has problems:\n  " + "\n  ".join(problems))
    return render_check(Path(html_dir) / "index.html", screenshot, pages)
