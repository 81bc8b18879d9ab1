"""Neutralise values from input files before they reach a spreadsheet or CSV.

A cell beginning with = + - @ (or a tab / carriage return, which some spreadsheet
programs strip before parsing) would be evaluated as a formula when the file is opened:
CSV/formula injection. We prefix such text with an apostrophe-like guard (a single
quote), the OWASP-recommended neutralisation. Numbers are never touched: -3.2 stays a
number. HTML escaping is Jinja's autoescape, not this module.
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Return text that cannot become a formula; leave non-text values alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
