"""Checks on the built HTML book: offline math, no external scripts, every chapter present."""
import re

import yaml

from conftest import ROOT

EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["'](?:https?:)?//""",
                      re.IGNORECASE)


def _pages(built_book):
    return sorted(built_book.rglob("*.html"))


def test_no_external_resources(built_book):
    offenders = {}
    for page in _pages(built_book):
        hits = EXTERNAL.findall(page.read_text(errors="replace"))
        if hits:
            offenders[str(page.relative_to(built_book))] = hits[:3]
    assert not offenders, f"pages load resources from the network: {offenders}"


def test_mathjax_is_local(built_book):
    page = (built_book / "chapters" / "01_introduction.html").read_text()
    src = re.search(r'<script[^>]+src="([^"]*tex-chtml\.js[^"]*)"', page)
    assert src, "no MathJax script tag in the chapter"
    assert not src.group(1).startswith(("http", "//"))
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert page.count("tex-chtml.js") == 1, "MathJax injected more than once"


def test_every_toc_chapter_is_built(built_book):
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    missing = [f for f in files if not (built_book / f"{f}.html").is_file()]
    assert not missing, f"chapters missing from the build: {missing}"
    assert all(not f.startswith("chapters/") or (ROOT / "notebooks" / (f[9:] + ".ipynb")).is_file()
               for f in files), "a chapter in _toc.yml has no source notebook"


def test_citations_render(built_book):
    refs = (built_book / "references.html").read_text()
    assert "Deep relaxation" in refs and "Research in the Mathematical Sciences" in refs


def test_the_introduction_has_a_scorecard_of_every_chapter(built_book):
    intro = (built_book / "intro.html").read_text()
    assert "Scorecard" in intro
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f'href="chapters/{nb.stem}.html' in intro, f"{nb.stem} missing from the scorecard"
    assert re.search(r"<strong>all</strong>.*?<strong>(\d+)</strong>", intro, re.S)


def test_every_erratum_links_to_the_chapter_that_checks_it(built_book):
    errata = (built_book / "errata.html").read_text()
    links = re.findall(r'href="chapters/(\d\d_[a-z_]+)\.html#errata-[a-z0-9-]+"', errata)
    assert len(links) >= 10, links
    assert "ERRATA-" not in errata, "a placeholder is left on the Errata page"
