"""scripts/measure_book.py counts what a reader sees on a built chapter page."""
import importlib.util

from conftest import ROOT

PAGE = """<html><body><article>
<div class="cell tag_injected-parameters docutils container">
 <div class="cell_input docutils container"><pre># Parameters
preset = "fast"</pre></div></div>
<div class="cell tag_hide-input docutils container">
 <div class="cell_input docutils container"><pre>import numpy as np
x = 1</pre></div>
 <div class="cell_output docutils container"><pre>{'a': np.float64(0.5)}
""" + "y" * 81 + """</pre></div></div>
<div class="cell docutils container">
 <div class="cell_input docutils container"><pre>""" + "z" * 90 + """
w = 2
v = 3</pre></div>
 <div class="cell_output docutils container"><img src="a.png"></div></div>
<figure><img src="b.png"><figcaption>Fig. 1</figcaption></figure>
</article></body></html>"""


def _script():
    spec = importlib.util.spec_from_file_location("measure_book",
                                                  ROOT / "scripts" / "measure_book.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_counts_on_a_synthetic_page(tmp_path):
    mb = _script()
    page = tmp_path / "chapters" / "x.html"
    page.parent.mkdir()
    page.write_text(PAGE)
    row = mb.measure(page)
    assert row == {"images": 2, "captions": 1, "visible input lines": 2 + 3,
                   "wide input lines": 1, "wide output lines": 1, "raw reprs": 1,
                   "injected cell shown": True}
    assert len(mb.failures(row)) == 5
    assert mb.main([str(tmp_path), "--check"]) == 1
    assert mb.main([str(tmp_path)]) == 0
