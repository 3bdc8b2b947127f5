"""Sphinx extension of the book (``_config.yml``): author-year citations and labels."""


def setup(app):
    """Sphinx extension (``_config.yml``): citations in round brackets, author–year
    ("(Chaudhari et al., 2018)" rather than "[COO+18]"), and the bibliography labelled so."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as Plain
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYear(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = []
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                names = [" ".join(p.last_names) for p in people] or [entry.key]
                who = (names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2
                       else f"{names[0]} et al.")
                labels.append(f"{who}, {entry.fields.get('year', 'n.d.')}")
            for i, label in enumerate(labels):       # "Li et al., 2018a", "... 2018b"
                same = [j for j, other in enumerate(labels) if other == label]
                yield label + ("abcdefghij"[same.index(i)] if len(same) > 1 else "")

    class Style(Plain):
        default_label_style = "authoryear"

    register_plugin("pybtex.style.labels", "authoryear", AuthorYear)
    register_plugin("pybtex.style.formatting", "authoryear", Style)

    import dataclasses
    import sphinxcontrib.bibtex.plugin
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

    def round_():
        return dataclasses.field(default_factory=lambda: BracketStyle(left="(", right=")"))

    @dataclasses.dataclass
    class Round(AuthorYearReferenceStyle):
        bracket_parenthetical: BracketStyle = round_()
        bracket_textual: BracketStyle = round_()
        bracket_author: BracketStyle = round_()
        bracket_label: BracketStyle = round_()
        bracket_year: BracketStyle = round_()

    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", "author_year_round", Round)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
