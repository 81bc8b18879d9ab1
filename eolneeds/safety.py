"""Neutralise values from input files before they reach a spreadsheet or CSV.

A cell beginning with = + - @ (or a tab / carriage return, which some spreadsheet
programs strip before parsing) would be evaluated as a formula when the file is opened:
CSV/formula injection. We prefix such text with an apostrophe-like guard (a single
quote), the OWASP-recommended neutralisation. Numbers are never touched: -3.2 stays a
number. HTML escaping is Jinja's autoescape, not this module.

Characters that change how the text around them is shown are replaced, visibly, by
U+FFFD: C0 control characters (an escape sequence in a practice code recoloured the
terminal of whoever printed indicators.csv; a vertical tab is not allowed in HTML or
XML) and the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, which
display a name reversed: "Trojan source" text). eolneeds.toml refuses them in names
(config._check_text); values from input files (practice codes and names, Fingertips
labels) reach the outputs through here and the HTML report's finalize.
"""

from __future__ import annotations

import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Tab, line feed and carriage return are kept: a CSV quotes them, HTML shows them as space.
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def shown_plainly(text: str) -> str:
    """`text` with control and text-direction characters replaced by U+FFFD."""
    return _HIDDEN.sub(REPLACEMENT, text)


def neutralise(value: Any) -> Any:
    """Return text that cannot become a formula or hide what it says; leave non-text
    values alone."""
    if not isinstance(value, str):
        return value
    value = shown_plainly(value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value
