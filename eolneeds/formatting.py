"""Number formatting for the reports: the Jinja2 filters of the HTML report.

Formatting lives here, in plain tested Python, not in templates, so that every number in
the report follows the same house rules (UK government statistics conventions):

* thousands separators (``12,345``); counts without decimals;
* percentages, rates and means to 1 decimal place (``43.4%``); indices to 2;
* ``*`` for a value withheld by disclosure control, ``–`` (en dash) for a value that
  does not exist (no data, not calculable). The two must never be confused: ``*`` means
  "we know it and may not show it", ``–`` means "there is nothing to show".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eolneeds import categories

#: A breakdown of the indicator table in words (the packs' Breakdown column, the
#: suppression tally by breakdown).
BREAKDOWN_LABELS = {
    "all": "All", "sex": "Sex", "imd_quintile": "Deprivation quintile",
    "age_band": "Age band", "age_group": "Age group", "ethnic_group": "Ethnic group",
    "ethnic_group_broad": "Broad ethnic group",
    "cause_group": "Cause group", "gp_practice": "GP practice", "pcn": "PCN",
    "cause_group_imd_quintile": "Cause group and deprivation quintile",
}

SUPPRESSED = "*"
MISSING = "\u2013"  # en dash, the GSS convention for "not available"

# Decimal places by indicator unit (bundle.INDICATOR_SCHEMA 'unit').
_UNIT_DECIMALS: dict[str, int] = {
    "%": 1,
    "per 100,000": 1,
    "count": 0,
    "days": 1,
    "per person": 1,
    "£": 0,
    "index": 2,
    "percentage points": 1,
}

COMPARISON_WORDS: dict[str, str] = {
    "higher": "Higher",
    "similar": "Similar",
    "lower": "Lower",
    "not_compared": "Not compared",
}


@dataclass(frozen=True)
class Judgement:
    """What a comparison with the ICB means for one indicator (see `judge`)."""

    key: str  # better | worse | similar | not_judged | not_compared
    words: str  # the cell text, meaning carried without colour: 'Higher (worse)'
    label: str  # the legend entry: 'Worse'
    colour: str  # marker / line colour on white, '#RRGGBB'
    fill: str  # pale background for a table cell, '#RRGGBB'
    text: str  # text colour on `fill` (contrast >= 4.5:1)


# One palette for the HTML report, the Excel packs, the funnel plots and the CLI: blue for
# better, orange for worse (the Okabe-Ito pair colour-blind readers tell apart), grey for
# similar, purple where the indicator has no better direction. The fills are the Excel
# pack's (excel_theme.COMPARISON_FILLS) so both outputs look the same.
_JUDGEMENT_STYLE: dict[str, tuple[str, str, str, str]] = {
    # key: (label, colour, fill, text)
    "better": ("Better", "#0072B2", "#9ECAE1", "#08306B"),
    "worse": ("Worse", "#D55E00", "#FDAE6B", "#7F2704"),
    "similar": ("Similar", "#768692", "#F0F0F0", "#1F1F1F"),
    "not_judged": ("Not judged", "#CC79A7", "#DADAEB", "#3F007D"),
    "not_compared": ("Not compared", "#768692", "#FFFFFF", "#1F1F1F"),
}


def judge(comparison: str | None, polarity: str | None) -> Judgement:
    """The single mapping of (comparison, polarity) to meaning, words and colour.

    `comparison` is the indicator table's value ('higher' | 'similar' | 'lower' |
    'not_compared', or a funnel position 'above' / 'below' / 'within'); `polarity` the
    catalogue's ('higher_is_better' | 'lower_is_better' | 'neutral'). The words always
    carry the meaning on their own ('Higher (worse)', 'Lower (better)', 'Similar',
    'Higher (not judged)'), so colour is never the only signal. The HTML report, the
    Excel packs, the funnel plots and the CLI summary all call this."""
    direction = {"higher": "higher", "above": "higher", "lower": "lower",
                 "below": "lower", "similar": "similar", "within": "similar"}.get(
        str(comparison or ""), "")
    if direction == "":
        key, words = "not_compared", "Not compared"
    elif direction == "similar":
        key, words = "similar", "Similar"
    elif polarity == "higher_is_better":
        key = "better" if direction == "higher" else "worse"
        words = f"{direction.capitalize()} ({key})"
    elif polarity == "lower_is_better":
        key = "worse" if direction == "higher" else "better"
        words = f"{direction.capitalize()} ({key})"
    else:
        key, words = "not_judged", f"{direction.capitalize()} (not judged)"
    label, colour, fill, text = _JUDGEMENT_STYLE[key]
    return Judgement(key, words, label, colour, fill, text)


def is_missing(value: Any) -> bool:
    """True for None and NaN (polars nulls arrive as None, numpy gaps as NaN)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def fmt_number(value: Any, decimals: int = 0, *, suppressed: bool = False) -> str:
    """``1234.5`` -> ``'1,235'`` (or ``'1,234.5'`` with decimals=1); '*' / '–' for gaps.

    Rounds half away from zero, as readers (and Excel) expect, not Python's half-to-even:
    2.5 -> 3, 0.25 (1 dp) -> 0.3.
    """
    if suppressed:
        return SUPPRESSED
    if is_missing(value):
        return MISSING
    number = _round_half_away(float(value), decimals)
    text = f"{number:,.{decimals}f}"
    if text.startswith("-") and float(text[1:].replace(",", "")) == 0:
        text = text[1:]  # no "-0.0"
    return text.replace("-", "\u2212")  # a true minus sign reads better in tables


def _round_half_away(value: float, decimals: int) -> float:
    # Decimal arithmetic on the repr avoids binary surprises (2.675 stays 2.675).
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def unit_decimals(unit: str | None, method: str | None = None) -> int:
    """Decimal places for a unit; medians of days are whole days."""
    if method == "Q":
        return 0
    return _UNIT_DECIMALS.get(unit or "", 1)


def fmt_value(value: Any, unit: str | None = None, *, suppressed: bool = False,
              method: str | None = None) -> str:
    """An indicator value with its unit's decimals and symbol: '43.4%', '£12,300', '1,024'."""
    if suppressed:
        return SUPPRESSED
    if is_missing(value):
        return MISSING
    text = fmt_number(value, unit_decimals(unit, method))
    if unit == "%":
        return f"{text}%"
    if unit == "£":
        return f"\u2212£{text[1:]}" if text.startswith("\u2212") else f"£{text}"
    if unit == "percentage points":  # the SII of a percentage: a difference, not a share
        return f"{text} percentage points"
    return text


def fmt_money_rounded(value: Any) -> str:
    """Money rounded for a sentence, as GOV.UK writes it: 21433216 -> '£21.4 million',
    951234 -> '£951,000', 3092 -> '£3,092'. Tables keep the exact pounds; a headline of
    eight digits is read, not compared."""
    if is_missing(value):
        return MISSING
    number = float(value)
    size = abs(number)
    if size >= 999_500:  # what rounds to £1,000,000 or more reads as millions
        text = f"{fmt_number(number / 1_000_000, 1)} million"
    elif size >= 10_000:  # three significant figures
        text = fmt_number(_round_half_away(number, -3 if size >= 100_000 else -2), 0)
    else:
        text = fmt_number(number, 0)
    return f"\u2212£{text[1:]}" if text.startswith("\u2212") else f"£{text}"


def fmt_percent(value: Any, *, suppressed: bool = False) -> str:
    """A percentage already on the 0-100 scale, 1 decimal place: 43.41 -> '43.4%'."""
    return fmt_value(value, "%", suppressed=suppressed)


def fmt_count(value: Any, *, suppressed: bool = False) -> str:
    """A whole number with thousands separators: 12345.0 -> '12,345'."""
    return fmt_number(value, 0, suppressed=suppressed)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """The word for `count` of something: plural(1, 'row') is 'row', plural(2, 'row')
    'rows' (`many` for any other plural: plural(n, 'entry', 'entries'), or a verb:
    plural(n, 'has', 'have')). The one rule for every count printed in words, in
    messages and reports alike: '1 row', never '1 rows' or '1 row(s)'."""
    return noun if count == 1 else (many if many is not None else noun + "s")


def fmt_interval(lower: Any, upper: Any, unit: str | None = None, *,
                 suppressed: bool = False, method: str | None = None) -> str:
    """A confidence interval: '41.2 to 45.6' (no unit symbol: the column header has it).

    'to' rather than a dash, because a dash is ambiguous beside negative numbers
    (an SII interval of -12.0 to -3.1)."""
    if suppressed:
        return SUPPRESSED
    if is_missing(lower) or is_missing(upper):
        return MISSING
    decimals = unit_decimals(unit, method)
    return f"{fmt_number(lower, decimals)} to {fmt_number(upper, decimals)}"


def fmt_comparison(comparison: Any) -> str:
    """'higher' -> 'Higher', a missing comparison -> '–'."""
    if comparison is None or comparison == "":
        return MISSING
    return COMPARISON_WORDS.get(str(comparison), str(comparison).replace("_", " ").capitalize())


def fmt_signed(value: Any, decimals: int = 1, *, suppressed: bool = False) -> str:
    """A difference with an explicit sign: +3.2, −1.0, 0.0."""
    text = fmt_number(value, decimals, suppressed=suppressed)
    if text in (SUPPRESSED, MISSING) or text.startswith("\u2212") or float(
        text.replace(",", "")
    ) == 0:
        return text
    return f"+{text}"


def fmt_cell(value: Any) -> str:
    """A generic table cell (data-quality tables): numbers formatted, text as is."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")  # seconds and microseconds are noise here
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # DuckDB's sum of integers (a 128-bit integer)
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        return fmt_number(value, 0)
    if isinstance(value, float):
        return fmt_number(value, 0 if value.is_integer() else 1)
    return str(value)


_ACRONYMS = {"lsoa": "LSOA", "lsoas": "LSOAs", "gp": "GP", "pcn": "PCN", "pcns": "PCNs",
             "nhs": "NHS", "icb": "ICB", "icd": "ICD"}


def column_header(column: str) -> str:
    """A data-quality table's column as a header: 'lsoa_vintage' -> 'LSOA vintage',
    'complete_pct' -> 'Complete %' (the report and the packs alike)."""
    words = column.replace("_pct", " %").replace("_", " ").split()
    text = " ".join(_ACRONYMS.get(w.lower(), w) for w in words)
    return text[:1].upper() + text[1:]


def humanise(code: Any) -> str:
    """A code word as a label: 'care_home' -> 'Care home', 'under_75' -> 'Under 75'."""
    if code is None:
        return MISSING
    raw = str(code).strip()
    if raw.endswith("_pct"):
        return humanise(raw[:-4]) + " (%)"
    merged = categories.labels()  # a merged category's documented label
    if raw in merged:
        return merged[raw]
    text = raw.replace("_", " ")
    special = {"75 plus": "75 and over", "hiv": "HIV", "imd quintile": "IMD quintile",
               "dementia frailty": "Dementia and frailty", "sii": "SII", "rii": "RII",
               "lsoa code": "LSOA code", "nhs number": "NHS number"}
    text = special.get(text.lower(), text)
    return text[:1].upper() + text[1:]


FILTERS = {
    "number": fmt_number,
    "value": fmt_value,
    "percent": fmt_percent,
    "count": fmt_count,
    "interval": fmt_interval,
    "comparison": fmt_comparison,
    "signed": fmt_signed,
    "cell": fmt_cell,
    "humanise": humanise,
}
