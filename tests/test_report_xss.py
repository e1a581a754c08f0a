"""The HTML report escapes everything: a results database in which every plugin- and
user-controlled string is an XSS payload (tests/xss.py) renders to a page whose only
script is our own, whose tags and attributes are only the ones the page is built of, and
in which each payload reads back intact as text. Rendered directly and through
``genbench report --title ... --compare ...``."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness import report
from harness.compare import judge, policy, sources
from harness.records import ResultsStore
from harness.report import page
from tests import xss

# Every tag and attribute the page is made of; an injected one fails the test.
TAGS = {"html", "head", "meta", "link", "title", "style", "body", "h1", "p", "nav", "a", "section", "h2", "div",
        "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "article", "h3", "figure", "img", "figcaption",
        "script"}
ATTRIBUTES = {"lang", "charset", "name", "content", "rel", "href", "id", "class", "data-key", "data-direction",
              "data-value", "data-run", "aria-sort", "src", "alt", "width"}
BASE64_PNG = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+=*")

# The payloads' long names do not fit the plots' margins; the plots are not under test.
pytestmark = pytest.mark.filterwarnings("ignore:Tight layout not applied:UserWarning")


class Page(HTMLParser):
    """The parsed page: its tags with their attributes, each text node, each script."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.texts: list[str] = []
        self.scripts: list[str] = []
        self._open: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._open = tag

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        (self.scripts if self._open == "script" else self.texts).append(data)

    def strings(self) -> list[str]:
        """Every text node and attribute value, unescaped: what a reader sees."""
        return self.texts + [v for _, attrs in self.tags for _, v in attrs if v is not None]


def assert_escaped(html: str, title: str = xss.TITLE) -> Page:
    # No payload survives verbatim (javascript: alone is harmless text; it is checked in href/src below).
    for piece in xss.MARKUP_PIECES:
        assert piece not in html
    assert xss.SCRIPT not in html
    assert html.count("<script") == 1 and html.count("</script") == 1

    parsed = Page(html)
    assert parsed.scripts == [page.SCRIPT]  # ours, and only ours
    assert [t for t, _ in parsed.tags].count("script") == 1
    for tag, attrs in parsed.tags:
        assert tag in TAGS, tag
        for name, value in attrs:
            assert name in ATTRIBUTES and not name.startswith("on"), (tag, name, value)
            if name == "src":
                assert BASE64_PNG.fullmatch(value), (tag, value[:80])
            if name == "href":
                assert value == "data:," or value.startswith("#"), (tag, value)
    # Every payload that the page shows reads back whole: escaped, not dropped or cut.
    strings = parsed.strings()
    for field in xss.SHOWN:
        if field == "title":
            assert any(s == title for s in strings)
        else:
            assert any(xss.xss(field) in s for s in strings), field
    return parsed


@pytest.fixture
def hostile(tmp_path) -> Path:
    store = ResultsStore(tmp_path / "genbench.sqlite")
    xss.plant(store, tmp_path / "runs")
    store.close()
    return tmp_path / "genbench.sqlite"


def test_render_escapes_every_planted_string(hostile):
    store = ResultsStore(hostile)
    try:
        runs = store.runs()
        base, cand = (sources.from_store(store, label) for label in xss.LABELS)
        comparison = judge.compare(base, cand, policy.load(None))
        html = report.render(store, runs, xss.TITLE, comparison)
    finally:
        store.close()
    parsed = assert_escaped(html)
    tags = [t for t, _ in parsed.tags]
    # The page is all there: 4 runs, a sample grid each, loss curves each, time to quality.
    assert tags.count("article") == 4 and tags.count("img") == 4 + 4 + 1
    assert 'id="compare-table"' in html and html.count('<tr data-run="') == 4
    # The failed runs' rows are still marked, whatever their reason says.
    assert html.count('class="failed"') == 2


def test_cli_report_escapes_the_title_and_compare_labels(hostile, tmp_path, run_cli):
    out = tmp_path / "page.html"
    code, _, err = run_cli("report", *xss.LABELS, "--compare", *xss.LABELS, "--title", xss.TITLE,
                           "--db", hostile, "--html", out)
    assert code == 0, err
    html = out.read_text()
    parsed = assert_escaped(html)
    for label in xss.LABELS:
        assert any(label in s for s in parsed.strings())


def test_cli_report_default_title_escapes_the_suite_names(hostile, tmp_path, run_cli):
    # No --title: the title is built from the latest suite run's suite, budget and id.
    path = tmp_path / "page.html"
    code, _, err = run_cli("report", "--db", hostile, "--html", path)
    assert code == 0, err
    html = path.read_text()
    parsed = Page(html)
    for piece in xss.MARKUP_PIECES:
        assert piece not in html
    assert parsed.scripts == [page.SCRIPT]
    titles = [t for t in parsed.texts if t.startswith("genbench report: ")]
    assert len(titles) == 2  # <title> and <h1>
    for title in titles:
        assert xss.xss("suite") in title and xss.xss("budget") in title and xss.xss("suite-run-cand") in title


def test_only_our_style_and_script_are_marked_safe():
    """Autoescape is on for every template, no template opts out, and no Python code here
    builds markup: the two Markup() calls are the style sheet and the script."""
    assert page.ENV.autoescape is True
    templates = sorted(page.TEMPLATES.glob("*.j2"))
    assert {t.name for t in templates} == set(page.ENV.list_templates())
    for template in templates:
        text = template.read_text()
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|\bMarkup\b", text), template.name
        # Escaping protects a quoted attribute value only: name={{ v }} could break out with a space.
        assert not re.search(r"=\s*\{\{", text), template.name
    source = Path(page.__file__).read_text()
    assert re.findall(r"Markup\((\w+)\)", source) == ["STYLE", "SCRIPT"]
    assert "Markup" not in Path(report.__file__).read_text()
    assert "</style" not in page.STYLE and "</script" not in page.SCRIPT
    # An attribute and a text node, escaped by the environment itself.
    rendered = page.ENV.from_string('<a title="{{ v }}">{{ v }}</a>').render(v=xss.xss("x"))
    assert xss.SCRIPT not in rendered and '"><img' not in rendered and "' onmouseover" not in rendered
