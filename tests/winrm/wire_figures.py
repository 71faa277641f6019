"""Lines the wire tests print at the end of the run (sizes and counts of the
envelopes), shared by conftest.py and the tests (a module of its own: a
`from conftest import` finds whichever conftest another folder put first)."""

FIGURES = []
