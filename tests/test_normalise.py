"""Known answers and properties of the normalisers, and SQL == Python for each.

The SQL builders are what ingest runs; the Python functions are the readable reference.
Every example below is run through both and must agree.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eolneeds import normalise as nz
from eolneeds.presets import place_of_death, place_of_death_sql


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def sql_value(con, expr: str, **params):
    return con.execute(f"SELECT {expr}", params).fetchall()[0][0]


# ---------------------------------------------------------------------------------------
# ICD-10

ICD10_CASES = [
    ("C34.9", "C349"),
    ("C349", "C349"),
    ("c34 ", "C34"),
    ("C34X", "C34"),  # X = filler of a three-character code
    ("C34.X", "C34"),
    ("c34-", "C34"),  # dash filler
    (" i25.1 ", "I251"),
    ("X59", "X59"),  # a code that starts with X keeps it
    ("X59.0", "X590"),
    ("U07.1", "U071"),
    ("C34.91", "C3491"),  # UK 5th character
    ("C34XX", "C34"),
    # Dagger / asterisk: the symbols, or the NHS letter after the code (D, A).
    ("A17.0†", "A170"),
    ("F00.9*", "F009"),
    ("A170D", "A170"),
    ("F009A", "F009"),
    ("G01XA", "G01"),
    ("g01x a", "G01"),
    ("C34.91D", "C3491"),
    ("C349B", None),  # no mark: junk
    ("C349DA", None),
    ("Q", None),
    ("CX34", None),
    ("C34999", None),
    ("34.9", None),
    ("hello", None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), ICD10_CASES)
def test_icd10_known_answers_python_and_sql(con, raw, expected):
    assert nz.normalise_icd10(raw).value == expected
    assert sql_value(con, nz.icd10_sql("nullif(trim($v), '')"), v=raw) == expected


def test_icd10_reason_names_the_value():
    assert nz.normalise_icd10("C3").reason == (
        "'C3' is not an ICD-10 code (expected a letter and 2-4 digits, e.g. C34.9)"
    )
    assert nz.normalise_icd10(None) == (None, None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_icd10_never_raises_and_is_idempotent(text):
    first = nz.normalise_icd10(text).value
    if first is not None:
        assert nz.normalise_icd10(first).value == first
        assert first == first.upper() and "." not in first


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="CIXJ0123456789.- x*", max_size=8))
def test_icd10_sql_agrees_with_python(text):
    with duckdb.connect() as connection:
        got = sql_value(connection, nz.icd10_sql("$v"), v=text)
    assert got == nz.normalise_icd10(text).value


# ---------------------------------------------------------------------------------------
# Dates

DATE_CASES = [
    ("05/01/2023", date(2023, 1, 5)),  # UK order: 5 January
    ("5/1/2023", date(2023, 1, 5)),
    ("2023-01-05", date(2023, 1, 5)),  # ISO always accepted
    ("20230105", date(2023, 1, 5)),  # yyyymmdd
    ("2023-01-05 00:00:00", date(2023, 1, 5)),  # database export with a time
    ("05/01/2023 13:45", date(2023, 1, 5)),
    ("29/02/2024", date(2024, 2, 29)),  # leap year
    ("31/02/2023", None),  # impossible
    ("29/02/2023", None),  # not a leap year
    ("2023-13-01", None),
    ("05/01/23", None),  # two-digit year would be the year 23
    # Day first with dots or dashes (a German-set Excel, SAP) under the default
    # dd/mm/yyyy: the separator says nothing of the order, so they read the same.
    ("18.03.2024", date(2024, 3, 18)),
    ("18-03-2024", date(2024, 3, 18)),
    ("8.3.2024", date(2024, 3, 8)),
    ("30.02.2024", None),
    # Year first with slashes or dots: always read, like ISO.
    ("2024/03/19", date(2024, 3, 19)),
    ("2024.03.19", date(2024, 3, 19)),
    ("2024/3/9", date(2024, 3, 9)),
    ("2024/19/03", None),  # no one writes the day before the month after the year
    ("18.03.24", None),  # a two-digit year, whatever its separator
    # Month names cannot be misread: Oracle / SQL Server exports, any case.
    ("31-MAR-2024", date(2024, 3, 31)),
    ("5 Jan 2023", date(2023, 1, 5)),
    ("05 january 2023", date(2023, 1, 5)),
    ("05/Jan/2023", date(2023, 1, 5)),
    ("31-MAR-2024 00:00:00", date(2024, 3, 31)),
    ("2024-03-31T14:05:00Z", date(2024, 3, 31)),  # ISO 8601 with a time zone (APIs)
    ("2024-03-31T14:05:00+01:00", date(2024, 3, 31)),
    ("31/03/2024 2:05 PM", date(2024, 3, 31)),  # Excel's US-style time
    ("2024-03-31 00:00:00,000", date(2024, 3, 31)),
    ("31-FEB-2024", None),
    ("31-MAR-24", None),  # 1924 or 2024?
    ("05-Foo-2023", None),
    # SAS's DATE9 and DATETIME formats (HES and deaths extracts passed through SAS).
    ("01MAY2024", date(2024, 5, 1)),
    ("1may2024", date(2024, 5, 1)),
    ("01MAY2024:13:45:00", date(2024, 5, 1)),
    ("31FEB2024", None),
    ("01MAY24", None),  # 1924 or 2024?
    # Excel's serial day number (a date cell formatted as General): 45292 is 1 January
    # 2024 (Excel's own value; day 1 = 1900-01-01, counted from 1899-12-30 because Excel
    # keeps the non-existent 29 February 1900); 10000 is 18 May 1927.
    ("45292", date(2024, 1, 1)),
    ("10000", date(1927, 5, 18)),
    ("1940", None),  # four digits: a year, not a day
    ("45292.75", date(2024, 1, 1)),  # 6 pm on that day
    ("01/01/1850", None),  # before 1900: a typing error
    ("yesterday", None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_dates_known_answers_python_and_sql(con, raw, expected):
    assert nz.parse_date(raw, "%d/%m/%Y").value == expected
    expr = nz.date_sql("nullif(trim($v), '')", "$fmt")
    assert sql_value(con, expr, v=raw, fmt="%d/%m/%Y") == expected


def test_custom_date_format_first(con):
    # mm/dd/yyyy from a US-configured export: 01/05/2023 is 5 January.
    assert nz.parse_date("01/05/2023", "%m/%d/%Y").value == date(2023, 1, 5)
    assert sql_value(con, nz.date_sql("$v", "$fmt"), v="01/05/2023", fmt="%m/%d/%Y") == date(
        2023, 1, 5
    )


def test_date_reason_says_expected_format():
    assert nz.parse_date("31.02.2023 x").reason == (
        "'31.02.2023 x' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)"
    )


def test_the_separators_keep_the_mappings_order(con):
    # Under month first, 03.18.2024 is 18 March, and 18.03.2024 is no date.
    for text, expected in [("03.18.2024", date(2024, 3, 18)), ("18.03.2024", None)]:
        assert nz.parse_date(text, "%m/%d/%Y").value == expected
        assert sql_value(con, nz.date_sql("$v", "$fmt"), v=text, fmt="%m/%d/%Y") == expected
    # A mapping written with dots reads slashes alike.
    assert sql_value(con, nz.date_sql("$v", "$fmt"), v="18/03/2024", fmt="%d.%m.%Y") == \
        date(2024, 3, 18) == nz.parse_date("18/03/2024", "%d.%m.%Y").value


# Worked out by hand: 2023 is not divisible by 4; 1900 is by 100 but not by 400 (not a
# leap year); 2000 is by 400 (a leap year).
DATE_FAULTS = [
    ("29/02/2023", "%d/%m/%Y", "2023 is not a leap year"),
    ("2023-02-29", "%d/%m/%Y", "2023 is not a leap year"),
    ("20230229", "%d/%m/%Y", "2023 is not a leap year"),
    ("29.02.1900", "%d/%m/%Y", "1900 is not a leap year"),
    ("30/02/2000", "%d/%m/%Y", "February 2000 has 29 days"),
    ("31/02/2023", "%d/%m/%Y", "February 2023 has 28 days"),
    ("31/04/2024", "%d/%m/%Y", "April has 30 days"),
    ("04/31/2024", "%m/%d/%Y", "April has 30 days"),
    ("31/11/2024", "%d/%m/%Y", "November has 30 days"),
    ("12/13/2024", "%d/%m/%Y", "there is no month 13"),
    ("2024-00-10", "%d/%m/%Y", "there is no month 0"),
    ("00/01/2024", "%d/%m/%Y", "there is no day 0"),
    ("29/02/23", "%d/%m/%y", "2023 is not a leap year"),
    ("29/02/2024", "%d/%m/%Y", None),  # a date
    ("29/02/2023", "%Y%m%d", None),  # not written as this mapping reads dates
    ("31/02/23", "%d/%m/%Y", None),  # a two-digit year the mapping does not read
    ("yesterday", "%d/%m/%Y", None),
]


@pytest.mark.parametrize(("text", "date_format", "fault"), DATE_FAULTS)
def test_why_a_date_is_no_date_python_and_sql(con, text, date_format, fault):
    assert nz.date_fault(text, date_format) == fault
    assert sql_value(con, nz.date_fault_sql("$v", date_format), v=text) == fault
    if fault:
        assert nz.parse_date(text, date_format).reason == f"{text!r} is not a date: {fault}"


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_round_trip_in_all_three_formats(day):
    for text in (day.strftime("%d/%m/%Y"), day.isoformat(), day.strftime("%Y%m%d")):
        assert nz.parse_date(text).value == day


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_parse_date_never_raises(text):
    result = nz.parse_date(text)
    assert (result.value is None) or (result.value >= nz.EARLIEST_PLAUSIBLE_DATE)


# ---------------------------------------------------------------------------------------
# NHS numbers


def test_nhs_check_digit_worked_by_hand():
    # 943 476 5919: weights 10..2 over 9,4,3,4,7,6,5,9,1:
    # 90 + 36 + 24 + 28 + 42 + 30 + 20 + 27 + 2 = 299; 299 mod 11 = 2 (11 * 27 = 297);
    # 11 - 2 = 9 = the tenth digit, so the number is valid.
    assert nz.nhs_check_digit("943476591") == 9
    # 401 023 2137: 4*10 + 0*9 + 1*8 + 0*7 + 2*6 + 3*5 + 2*4 + 1*3 + 3*2
    # = 40 + 0 + 8 + 0 + 12 + 15 + 8 + 3 + 6 = 92; 92 mod 11 = 4 (88); 11 - 4 = 7.
    assert nz.nhs_check_digit("401023213") == 7
    # 000 000 000x: sum 0, 11 - 0 = 11 -> check digit 0.
    assert nz.nhs_check_digit("000000000") == 0
    # 100 000 000x: 1 * 10 = 10; 10 mod 11 = 10; 11 - 10 = 1.
    assert nz.nhs_check_digit("100000000") == 1
    # 000 000 001x: 1 * 2 = 2; 11 - 2 = 9.
    assert nz.nhs_check_digit("000000001") == 9
    # 000 000 010x: 1 * 3 = 3; 11 - 3 = 8.   000 000 100x: 4; 11 - 4 = 7.
    assert nz.nhs_check_digit("000000010") == 8
    # 1 * 10 + 1 * 2 = 12 -> 12 mod 11 = 1 -> 11 - 1 = 10: no valid number starts 100000001.
    assert nz.nhs_check_digit("100000001") is None


NHS_CASES = [
    ("9434765919", True),
    ("943 476 5919", True),  # spaces as printed on letters
    ("943-476-5919", True),
    (" 943 476 5919 ", True),
    ("9434765919.0", True),  # written by a tool that read the column as decimals
    ("9434765919.00", True),
    ("9434765919.5", False),
    ("9.43E+09", False),  # Excel's display, digits lost: never linked
    ("9.434765919E+09", False),
    ("4010232137", True),
    ("9434765918", False),  # wrong check digit
    ("9434765910", False),
    ("943476591", False),  # nine digits
    ("94347659190", False),  # eleven digits
    ("943476591X", False),
    ("1000000010", False),  # check digit would be 10: never issued
    ("", False),
]


def test_an_nhs_number_written_as_a_decimal_is_the_same_ten_digits(con):
    # ... so it hashes to the same pseudonym and links across datasets.
    assert nz.nhs_digits("9434765919.0") == nz.nhs_digits("943 476 5919") == "9434765919"
    assert sql_value(con, nz.nhs_digits_sql("$v"), v="9434765919.0") == "9434765919"


@pytest.mark.parametrize(("raw", "valid"), NHS_CASES)
def test_nhs_numbers_python_and_sql(con, raw, valid):
    assert nz.is_valid_nhs_number(raw) is valid
    expr = nz.nhs_valid_sql(nz.nhs_digits_sql("trim($v)"))
    assert sql_value(con, expr, v=raw) is valid


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_nine_digits_give_one_valid_number_or_none(first_nine):
    check = nz.nhs_check_digit(first_nine)
    valid = [d for d in range(10) if nz.is_valid_nhs_number(first_nine + str(d))]
    # One digit ten times (0000000000) passes the check but is a placeholder: refused.
    placeholder = check is not None and len(set(first_nine + str(check))) == 1
    assert valid == ([] if check is None or placeholder else [check])


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789 -", max_size=14))
def test_nhs_sql_agrees_with_python(text):
    with duckdb.connect() as connection:
        got = sql_value(connection, nz.nhs_valid_sql(nz.nhs_digits_sql("$v")), v=text)
    assert got is nz.is_valid_nhs_number(text)


# Values an NHS number column holds, for the short cut of nhs_digits_sql (ten digits as
# they are or spaced as printed) against the whole clean-up, which it must agree with.
NHS_WRITTEN = ["9434765919", "943 476 5919", " 943 476 5919", "943  476 5919",
               "9434765919.0", "9434765919.00", "943-476-5919", "943.476.5919",
               "943\u00a0476\u00a05919", "943\u2009476\u202f5919", "943\t476 5919",
               "\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669",
               "\uff19\uff14\uff13 476 5919", "943476591", "94347659190", "943 476 591X",
               "94 34 76 59 19", "9 4 3 4 7 6 5 9 1 9", "+943476591", "+9434765919", "",
               " ", "0.0", "943476 5919.0", "1.0.0", "9434765919 ", "unknown", "9.43E+09"]


@pytest.mark.parametrize("text", NHS_WRITTEN)
def test_nhs_digits_short_cut_gives_what_the_whole_clean_up_gives(con, text):
    whole = (f"regexp_replace({nz.ascii_digits_sql('$v')}, "
             f"{nz.sql_literal(nz._NHS_SEPARATORS)}, '', 'g')")
    got = sql_value(con, nz.nhs_digits_sql("$v"), v=text)
    assert got == sql_value(con, whole, v=text)
    assert (got if got is not None and len(got) == 10 and got.isascii() and got.isdigit()
            else None) == nz.nhs_digits(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 .-\u00a0\u0661X", max_size=16))
def test_nhs_digits_short_cut_agrees_on_any_mix(text):
    whole = (f"regexp_replace({nz.ascii_digits_sql('$v')}, "
             f"{nz.sql_literal(nz._NHS_SEPARATORS)}, '', 'g')")
    with duckdb.connect() as connection:
        assert (sql_value(connection, nz.nhs_digits_sql("$v"), v=text)
                == sql_value(connection, whole, v=text))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_nhs_sql_agrees_with_python_for_every_last_digit(first_nine):
    # The SQL reads the ten digits as one integer and checks with integer arithmetic:
    # for each of the ten possible last digits it must give Python's verdict (one valid
    # last digit, or none when the check digit would be 10).
    with duckdb.connect() as connection:
        for last in "0123456789":
            text = first_nine + last
            got = sql_value(connection, nz.nhs_valid_sql("$v"), v=text)
            assert got is nz.is_valid_nhs_number(text), text


# ---------------------------------------------------------------------------------------
# Pseudonymisation


@pytest.mark.parametrize("key", [b"test-key", b"k" * 64, b"a much longer key " * 10, b""])
@pytest.mark.parametrize("identifier", ["9434765919", "P000123", "é-ü ß", ""])
def test_hmac_sql_equals_python_equals_stdlib(con, key, identifier):
    stdlib = hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    assert nz.pseudonymise_one(identifier, key) == stdlib
    inner, outer = nz.hmac_pads(key)
    got = sql_value(con, nz.pseudonymise_sql("$v", "$inner", "$outer"), v=identifier,
                    inner=inner, outer=outer)
    assert got == stdlib


def test_hmac_known_answer_rfc4231_case_2():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert nz.pseudonymise_one("what do ya want for nothing?", b"Jefe") == expected[:32]


def test_pseudonymise_list_keeps_nulls_and_depends_on_key():
    ids = ["9434765919", None]
    first = nz.pseudonymise(ids, b"one")
    assert first[1] is None and len(first[0] or "") == 32
    assert nz.pseudonymise(ids, b"two")[0] != first[0]


# ---------------------------------------------------------------------------------------
# Coded fields


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", "male"), ("M", "male"), ("Male", "male"), ("2", "female"), (" f ", "female"),
    ("9", "unknown"), ("0", "unknown"), ("Q", None),
    # A two-character code field keeps its leading zero.
    ("01", "male"), ("02", "female"), ("09", "unknown"), ("00", "unknown"), ("03", None),
])
def test_sex_codes(con, raw, expected):
    assert nz.recode(raw, nz.SEX_CODES) == expected
    got = sql_value(con, nz.case_sql(nz.code_key_sql("$v"), nz.SEX_CODES), v=raw)
    assert got == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Care_Home", "care_home"), ("care-home", "care_home"), ("Nursing Home", "care_home"),
    ("HOSPITAL", "hospital"), ("Own home", "home"), ("Elsewhere", "other"),
    ("Religious establishment", "religious"), ("Moon", None),
    # Local systems' wording (red team): care homes by kind, "own residence".
    ("Residential Care Home", "care_home"), ("Care home (with nursing)", "care_home"),
    ("Own Residence", "home"),
])
def test_place_of_death_words(con, raw, expected):
    assert nz.recode(raw, nz.PLACE_OF_DEATH_CODES) == expected
    got = sql_value(con, nz.case_sql(nz.code_key_sql("$v"), nz.PLACE_OF_DEATH_CODES), v=raw)
    assert got == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("A", "white"), ("C", "white"), ("D", "mixed"), ("H", "asian"), ("L", "asian"),
    ("N", "black"), ("R", "other"), ("S", "other"), ("Z", "not_known"), ("CA", "white"),
    ("White British", "white"), ("Chinese", "other"), ("Not stated", "not_known"),
    ("Martian", "not_known"),
])
def test_ethnicity_codes(con, raw, expected):
    assert nz.ethnicity(raw) == expected
    key = nz.code_key_sql("$v")
    expr = (f"coalesce({nz.case_sql(key, nz.ETHNICITY_CODES)}, "
            f"{nz.ethnicity_letter_sql(key)}, 'not_known')")
    assert sql_value(con, expr, v=raw) == expected


def test_user_recode_comes_first():
    assert nz.recode("3", nz.SEX_CODES, user={"3": "female"}) == "female"
    assert nz.recode("1", nz.SEX_CODES, user={"1": "female"}) == "female"


@pytest.mark.parametrize(("raw", "expected"), [
    ("0-4", "0-4"), ("00-04", "0-4"), ("85 - 89", "85-89"), ("90+", "90+"),
    ("90 and over", "90+"), ("5 to 9", "5-9"), ("85+", None),
])
def test_age_bands(raw, expected):
    assert nz.recode(raw, nz.AGE_BAND_CODES) == expected


# ---------------------------------------------------------------------------------------
# Place of death from the national POD_* fields (REFERENCE.md rules, in order)

POD_CASES = [
    ("H", "", "", "home"),
    ("E", "", "", "other"),
    ("X", "1", "83", "hospice"),
    ("X", "2", "83", "hospice"),
    ("X", "1", "01", "hospital"),
    ("X", "1", "1", "hospital"),  # '1' and '01' alike
    ("X", "1", "99", "hospital"),
    ("X", "2", "19", "hospital"),
    ("X", "1", "02", "care_home"),
    ("X", "2", "03", "care_home"),
    ("X", "2", "99", "care_home"),  # NHS flag decides: non-NHS 99 is a care home
    ("X", "2", "52", "religious"),
    ("X", "2", "64", "religious"),
    ("X", "1", "05", "other"),
    ("X", "2", "40", "other"),
    # Codes no rule places: said as they are, so that ingest records the unknown.
    ("X", "1", "40", "no PHE rule for NHS establishment 1, type 40"),
    ("X", "3", "01", "no PHE rule for NHS establishment 3, type 01"),
    ("X", "", "", "unknown"),
    ("", "", "", "unknown"),
]


@pytest.mark.parametrize(("code", "nhs", "kind", "expected"), POD_CASES)
def test_place_of_death_from_pod_fields(con, code, nhs, kind, expected):
    assert place_of_death(code, nhs, kind) == expected
    expr = place_of_death_sql(["nullif($a, '')", "nullif($b, '')", "nullif($c, '')"])
    assert sql_value(con, expr, a=code, b=nhs, c=kind) == expected
