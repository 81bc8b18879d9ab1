"""The bad-input corpus (tests/bad_inputs/, made by make_corpus.py): every case states
exactly what happens -- the one-line refusal, or the quarantined rows with their reasons
and the counts (rows read = loaded + rejected). A few go through the real CLI to prove
the user sees one "Error: " line, exit code 3 and no traceback."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest
from identifier_leaks import leaks, numbers_in

from eolneeds.config import load_config
from eolneeds.errors import EolneedsError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.lock import ProjectLock
from eolneeds.reporting import Reporter

CORPUS = Path(__file__).parent / "bad_inputs"
EOLNEEDS = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "eolneeds"
TEST_KEY = "test-key-not-secret"
# Corpus files are a few rows each, most showing one fault: the rule refusing a mostly
# quarantined file (tests/test_field_actions.py) would hide the reasons, so only a file
# with every row quarantined is refused here.
CONFIG = ('[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
          '\n[ingest]\nmax_rejected_share = 1.0\n')

NOT_A_DATE = "is not a date (expected dd/mm/yyyy or yyyy-mm-dd)"
# Written as dates are read, but no date: the message says why.
NOT_IN_FEBRUARY = "is not a date: February 2023 has 28 days"
BAD_NHS = ("is not a valid NHS number (10 digits with a correct modulus 11 check digit); "
           "the value is withheld because it identifies a person")
UNLINKED = ("is not a valid NHS number (10 digits with a correct modulus 11 check digit); "
            "the death counts but cannot be linked to register or activity rows")
NOT_ICD = "is not an ICD-10 code (expected a letter and 2-4 digits, e.g. C34.9)"
MISSING = "is missing (a value is required)"
NOT_DECIMAL_COMMA = ("is not a number written with a decimal comma (the mapping sets decimal = "
                     "\",\": e.g. 1234,5 or 1.234,56)")
FORMAT_FIX = "set format to match the file, or remove the format key so it is detected"
DELIMITER_FIX = ("use one character other than a quote or a line break (e.g. \";\" or \"|\"), "
                 "\"tab\", or \"auto\" to detect it")
DATE_FIX = ("write it with strftime codes, e.g. \"%d/%m/%Y\" for 31/01/2025 or \"%Y%m%d\" for "
            "20250131")
CLOSE_QUOTE = ('close the quote, or double a quote that is part of a value (""), then ingest '
               "the file again")
ONE_ENCODING = ("re-export the whole file in one encoding (CSV UTF-8), or pass --encoding "
                "cp1252 if the file really is all Windows-1252")
SHORT = ("row has fewer fields than the header (7 columns); check the delimiter and quoting "
         "on this row")
DEATHS_FOUND = ("(found: 'person_id', {x}, 'age', 'sex', 'lsoa_code', 'underlying_cause', "
                "'place_of_death')")
MAP_IT = ("rename the column, or map it with {col} = \"Your column\" under [columns] in "
          "mappings/{ds}.toml")
ONE_COLUMN = ("only one column was found: check the delimiter, or set header_row in the "
              "mapping if the headers are not on the first row; ")


@dataclass
class Case:
    name: str
    dataset: str
    file: str
    refused: str | None = None  # the exact message; {mappings} = the mapping file's path
    counts: tuple[int, int, int] | None = None  # read, loaded, rejected
    rejects: list[tuple[int, str | None, str]] = field(default_factory=list)
    mapping: str | bytes | None = None  # mappings/<dataset>.toml
    encoding: str | None = None
    before: list[str] = field(default_factory=list)  # files ingested first
    loaded: tuple[str, list[tuple]] | None = None  # (SQL, expected rows) after loading
    code: int = 3  # the exit code of a refusal: 2 configuration, 3 input data
    config: bytes | None = None  # eolneeds.toml as it is when the case runs
    database: bytes | None = None  # the project database file before the case runs
    # field_actions on rows that loaded: (row, column, action, reason); None = not checked
    actions: list[tuple[int, str, str, str | None]] | None = None


CASES = [
    # -- the whole file is refused ----------------------------------------------------
    Case("empty file", "deaths", "empty.csv", refused=(
        "empty.csv: the file is empty (0 bytes) — re-export the extract; an empty file has "
        "nothing to load")),
    Case("blank lines only", "deaths", "blank_lines_only.csv", refused=(
        "blank_lines_only.csv: the file is empty (no header row) — re-export the extract "
        "with its column headers")),
    Case("missing column", "deaths", "missing_column.csv", refused=(
        "missing_column.csv: required column 'date_of_death' is missing "
        + DEATHS_FOUND.format(x="'dod'") + " — "
        + MAP_IT.format(col="date_of_death", ds="deaths"))),
    Case("misnamed column: closest match suggested", "deaths", "misnamed_column.csv",
         refused=("misnamed_column.csv: required column 'date_of_death' is missing "
                  + DEATHS_FOUND.format(x="'date_of_deaths'")
                  + " — did you mean 'date_of_deaths'? "
                  + MAP_IT.format(col="date_of_death", ds="deaths").replace(
                      "Your column", "date_of_deaths"))),
    Case("duplicated column", "deaths", "duplicated_column.csv", refused=(
        "duplicated_column.csv: column 'sex' appears twice in the header (columns 4 and 6) "
        "— rename or remove one of them, then ingest the file again")),
    Case("duplicated column differing in case", "deaths", "duplicated_column_case.csv",
         refused=("duplicated_column_case.csv: column 'age' appears twice in the header "
                  "(columns 3 and 4) — rename or remove one of them, then ingest the file "
                  "again")),
    Case("binary file", "deaths", "binary.csv", refused=(
        "binary.csv: looks like a binary file, not CSV text (it contains NUL bytes) — "
        "export the data as CSV UTF-8, XLSX or Parquet")),
    # A stray NUL in one value of a text export is a bad value in that row, not a binary
    # file: the file loads and the field is blanked like any malformed LSOA.
    Case("a stray NUL byte in one value", "deaths", "stray_nul.csv", counts=(3, 3, 0),
         loaded=("SELECT lsoa_code FROM deaths ORDER BY source_row",
                 [("E01000001",), (None,), ("E01000001",)])),
    Case("unreadable encoding", "deaths", "undecodable.csv", refused=(
        "undecodable.csv: is not readable text in UTF-8 or Windows-1252 (byte 0x81 at "
        "offset 113) — re-export it as CSV UTF-8, or pass the right encoding with "
        "--encoding")),
    Case("wrong --encoding", "areas", "cp1252_forced_utf8.csv", encoding="utf-8", refused=(
        "cp1252_forced_utf8.csv: is not valid utf-8 text (byte 0xe9 at offset 70) — pass "
        "the file's real encoding with --encoding (Excel exports are often cp1252), or "
        "re-export it as CSV UTF-8")),
    Case("a download error page saved as .csv", "deaths", "download_error_page.csv",
         refused=("download_error_page.csv: is a web page (HTML or XML), not CSV: most likely "
                  "an error page saved when a download or export failed — open it in a "
                  "browser to read what went wrong, then download the extract again")),
    Case("an Excel 2003 XML workbook", "deaths", "xml_spreadsheet.xls", refused=(
        "xml_spreadsheet.xls: is an Excel XML or web-page workbook, not CSV or .xlsx — open "
        "it in Excel and save it as .xlsx (Excel Workbook) or CSV UTF-8")),
    Case("a zip of extracts", "deaths", "zipped_extracts.zip", refused=(
        "zipped_extracts.zip: is a zip archive, not an Excel workbook (it holds "
        "deaths_2023.csv) — unzip it and ingest the extract files inside")),
    Case("an OpenDocument spreadsheet", "deaths", "libreoffice.ods", refused=(
        "libreoffice.ods: is an OpenDocument spreadsheet (.ods), not .xlsx — save it as "
        "Excel 2007-365 (.xlsx) or CSV UTF-8 from LibreOffice or Excel")),
    Case("an Excel binary workbook", "deaths", "binary_workbook.xlsb", refused=(
        "binary_workbook.xlsb: is an Excel binary workbook (.xlsb), not .xlsx — open it in "
        "Excel and save it as Excel Workbook (.xlsx) or CSV UTF-8")),
    Case("old .xls workbook", "deaths", "old_format.xls", refused=(
        "old_format.xls: is an old-format (.xls) or password-protected Excel workbook — "
        "save it from Excel as .xlsx without a password, or as CSV UTF-8")),
    Case("corrupt workbook", "deaths", "corrupt.xlsx", refused=(
        "corrupt.xlsx: is not a readable Excel workbook (File is not a zip file) — open it "
        "in Excel and save it again as .xlsx, or export CSV")),
    Case("semicolons read with a forced comma", "deaths", "semicolons_forced_comma.csv",
         mapping='dataset = "deaths"\ndelimiter = ","\n', refused=(
             "semicolons_forced_comma.csv: required column 'person_id' is missing (found: "
             "'person_id;date_of_death;age;sex;lsoa_code;underlying_cause;place_of_death') — "
             + ONE_COLUMN + MAP_IT.replace("mappings/{ds}.toml", "{{mappings}}").format(
                 col="person_id"))),
    # Found below the title line, as in a workbook (newcomer2 finding 08)
    Case("title rows without header_row", "deaths", "title_rows_unmapped.csv",
         counts=(1, 1, 0)),
    Case("preset column missing", "deaths", "pcmd_missing_pod.csv",
         mapping='dataset = "deaths"\npreset = "pcmd_deaths"\n', refused=(
             "pcmd_missing_pod.csv: required column 'POD_CODE' (the pcmd_deaths preset "
             "derives place_of_death from it) missing (found: "
             "'DEC_NHS_NUMBER', 'REG_DATE_OF_DEATH', 'REG_DATE', 'DEC_AGEC', 'DEC_SEX', "
             "'DEC_LSOA', 'S_UNDERLYING_COD_ICD10', 'S_COD_CODE_1', 'POD_NHS_ESTABLISHMENT', "
             "'POD_ESTABLISHMENT_TYPE') — check that the file is in that layout, or set "
             "place_of_death under [columns] in {mappings} to a column that holds "
             "place_of_death itself")),
    Case("register without date_added", "register", "register_missing_date_added.csv",
         refused=("register_missing_date_added.csv: required column 'date_added' is missing "
                  "(found: 'person_id', 'gp_practice') — "
                  + MAP_IT.format(col="date_added", ds="register"))),
    Case("activity without activity_type", "activity", "activity_missing_type.csv",
         refused=("activity_missing_type.csv: required column 'activity_type' is missing "
                  "(found: 'person_id', 'start_date') — "
                  + MAP_IT.format(col="activity_type", ds="activity"))),
    Case("population without age_band", "population", "population_missing_age_band.csv",
         refused=("population_missing_age_band.csv: required column 'age_band' is missing "
                  "(found: 'lsoa_code', 'year', 'sex', 'population') — "
                  + MAP_IT.format(col="age_band", ds="population"))),
    Case("areas without place", "areas", "areas_missing_place.csv", refused=(
        "areas_missing_place.csv: required column 'place' is missing (found: 'lsoa_code', "
        "'imd_decile') — " + MAP_IT.format(col="place", ds="areas"))),
    Case("projections without area_code", "projections", "projections_missing_area.csv",
         refused=("projections_missing_area.csv: required column 'area_code' is missing "
                  "(found: 'year', 'sex', 'age_band', 'population') — "
                  + MAP_IT.format(col="area_code", ds="projections"))),
    Case("truncated gzip", "deaths", "truncated.csv.gz", refused=(
        "truncated.csv.gz: cannot be read (Compressed file ended before the end-of-stream "
        "marker was reached) — check that the file is complete (a gzip file may be "
        "truncated)")),
    Case("wrong sheet name", "deaths", "wrong_sheet.xlsx",
         mapping='dataset = "deaths"\nsheet = "Death"\n', refused=(
             "wrong_sheet.xlsx: has no sheet 'Death' (sheets: 'Deaths', 'Notes') — did you "
             "mean 'Deaths'? set sheet in {mappings} to one of these")),
    Case("empty sheet", "deaths", "empty_sheet.xlsx", refused=(
        "empty_sheet.xlsx: sheet 'Sheet1' is empty — check the sheet name and that the "
        "data was saved")),
    # -- encodings and delimiters that load ---------------------------------------------
    Case("cp1252 (Excel on Windows)", "areas", "cp1252.csv", counts=(2, 1, 1),
         rejects=[(3, "imd_decile", "imd_decile '11' is not between 1 and 10")],
         loaded=("SELECT rural_urban FROM areas", [("Urban – café £",)])),
    Case("UTF-8 with BOM", "deaths", "bom.csv", counts=(2, 2, 0)),
    Case("UTF-16 with BOM", "deaths", "utf16.csv", counts=(2, 1, 1),
         rejects=[(3, "date_of_death", f"date_of_death '31/02/2023' {NOT_IN_FEBRUARY}")]),
    Case("semicolons", "deaths", "semicolons.csv", counts=(2, 2, 0),
         actions=[(3, "age", "blanked", "age '-1' is not between 0 and 120")]),
    Case("tabs", "deaths", "tabs.tsv", counts=(1, 1, 0)),
    Case("pipes", "deaths", "pipes.txt", counts=(1, 1, 0)),
    # A slip among day-first dates (row 4's day above 12 proves the order): that row only.
    Case("CRLF line ends and a US date", "deaths", "crlf.csv", counts=(3, 2, 1),
         rejects=[(3, "date_of_death",
                   "date_of_death '05/13/2023' is not a date: there is no month 13")]),
    # No date proves day first: the other dates would load swapped (finding 09).
    Case("dates month first", "deaths", "month_first.csv", refused=(
        "month_first.csv: 1 date in date_of_death cannot be read as dd/mm/yyyy (the "
        "mapping's date_format) but read as mm/dd/yyyy (such as '05/13/2023'), and none of "
        "the 1 read as dd/mm/yyyy has a day above 12, so those would load with day and "
        "month swapped; "
        "nothing from the file was loaded — set date_format = \"%m/%d/%Y\" in a new "
        "mappings/deaths.toml (or correct those dates in the file if they are typing "
        "errors)")),
    Case("mixed delimiters", "deaths", "mixed_delimiters.csv", counts=(2, 1, 1),
         rejects=[(3, None, f"{SHORT}; date_of_death {MISSING}")]),
    Case("quoted newline and comma", "deaths", "quoted_newline.csv", counts=(2, 2, 0),
         loaded=("SELECT place_of_death FROM deaths ORDER BY source_row",
                 [("hospital",), ("unknown",)])),
    Case("more fields than the header", "deaths", "extra_fields.csv", counts=(2, 1, 1),
         rejects=[(3, None, "row has more fields than the header (7 columns); check the "
                            "delimiter and quoting on this row")]),
    Case("truncated last line", "deaths", "truncated_last_line.csv", counts=(2, 1, 1),
         rejects=[(3, None, f"{SHORT}; date_of_death '05/01/20' {NOT_A_DATE}")]),
    Case("header only", "deaths", "header_only.csv", counts=(0, 0, 0)),
    Case("trailing empty columns and an empty row", "deaths", "trailing_empty_columns.csv",
         counts=(1, 1, 0)),
    # -- structural faults: found, never loaded with changed values ---------------------
    Case("a row with too few fields", "deaths", "short_row.csv", counts=(3, 2, 1),
         rejects=[(3, None, SHORT.replace("7 columns", "8 columns"))]),
    Case("a shifted row with a field left out", "deaths", "short_row_shifted.csv",
         # (The cause and place of death would only be blanked: a reject names what
         # rejects the row.)
         counts=(2, 1, 1), rejects=[(3, None, SHORT)]),
    Case("an unclosed quote swallowing the rest of the file", "deaths",
         "unclosed_quote_eof.csv", refused=(
             "unclosed_quote_eof.csv row 3: a quote opened in column 'underlying_cause' is "
             "not closed where the value should end: it runs on over the next 2 lines, which "
             "look like rows of their own — " + CLOSE_QUOTE)),
    Case("an unclosed quote closed a line later", "deaths", "unclosed_quote_mid.csv",
         refused=("unclosed_quote_mid.csv row 3: a quote opened in column 'place_of_death' "
                  "is not closed where the value should end: it runs on over the next line, "
                  "which looks like a row of its own — " + CLOSE_QUOTE)),
    Case("an unclosed quote in a column nothing reads", "deaths",
         "unclosed_quote_unmapped.csv", refused=(
             "unclosed_quote_unmapped.csv row 3: a quote opened in column 'notes' is not "
             "closed where the value should end: it runs on over the next line, which looks "
             "like a row of its own — " + CLOSE_QUOTE)),
    Case("a quoted line break in a column nothing reads", "deaths",
         "quoted_newline_unmapped.csv", counts=(2, 2, 0)),
    Case("mixed line endings: CR LF, a lone CR and a lone LF", "deaths",
         "mixed_line_endings.csv", counts=(4, 4, 0),
         loaded=("SELECT date_of_death, source_row FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5), 2), (date(2023, 1, 6), 3), (date(2023, 1, 7), 4),
                  (date(2023, 1, 8), 5)])),
    Case("old Mac line endings (CR only)", "deaths", "cr_only.csv", counts=(2, 2, 0),
         loaded=("SELECT source_row FROM deaths ORDER BY source_row", [(2,), (3,)])),
    Case("old Mac line endings with an empty line and a short row", "deaths",
         "cr_only_empty_line.csv", counts=(2, 1, 1), rejects=[(4, None, SHORT)]),
    Case("UTF-8 lines in a Windows-1252 file", "areas", "mixed_encoding.csv", refused=(
        "mixed_encoding.csv: mixes text encodings: line 3 holds UTF-8 text ('–') but the "
        "rest of the file is Windows-1252, so it would be stored garbled — " + ONE_ENCODING)),
    Case("a Windows-1252 line in a UTF-8 file", "areas", "mixed_encoding_mostly_utf8.csv",
         refused=("mixed_encoding_mostly_utf8.csv: mixes text encodings: line 2 holds UTF-8 "
                  "text ('–') but the rest of the file is Windows-1252, so it would be stored "
                  "garbled — " + ONE_ENCODING)),
    Case("short rows in a semicolon file", "deaths", "short_rows_semicolons.csv",
         counts=(4, 2, 2), rejects=[
             (3, None, SHORT), (4, None, SHORT)]),
    Case("a short row in a tab file: an optional column left out", "deaths",
         "short_row_tabs.tsv", counts=(2, 1, 1),
         rejects=[(3, None, SHORT.replace("7 columns", "8 columns"))]),
    Case("a long row and a short row", "deaths", "short_and_long_rows.csv",
         counts=(3, 1, 2), rejects=[(2, None, "row has more fields than the header (7 "
                                              "columns); check the delimiter and quoting on "
                                              "this row"),
                                    (3, None, SHORT)]),
    Case("a short row after empty lines keeps its row number", "deaths",
         "short_row_after_empty_line.csv", counts=(2, 1, 1),
         rejects=[(5, None, SHORT)]),
    Case("a short row in UTF-16", "deaths", "short_row_utf16.csv", counts=(2, 1, 1),
         rejects=[(3, None, SHORT)]),
    Case("a short row under a header with empty cells after it", "deaths",
         "short_row_trailing_header_commas.csv", counts=(2, 1, 1),
         rejects=[(3, None, SHORT)]),
    Case("an empty last field is not a short row", "deaths", "empty_last_field.csv",
         counts=(2, 2, 0)),
    Case("a stray quote inside a value is kept as it is", "deaths",
         "stray_quote_in_value.csv", counts=(2, 2, 0),
         loaded=("SELECT place_of_death FROM deaths ORDER BY source_row",
                 [("unknown",), ("hospital",)])),
    Case("quoted fields, CR LF and blank lines at the end", "deaths",
         "quoted_fields_crlf_trailing_blank_lines.csv", counts=(2, 2, 0)),
    Case("an unclosed quote in a gzip file", "deaths", "unclosed_quote.csv.gz", refused=(
        "unclosed_quote.csv.gz row 3: a quote opened in column 'place_of_death' is not "
        "closed where the value should end: it runs on over the next 2 lines, which look "
        "like rows of their own — " + CLOSE_QUOTE)),
    Case("an unclosed quote in a pipe file", "deaths", "unclosed_quote_pipes.txt", refused=(
        "unclosed_quote_pipes.txt row 3: a quote opened in column 'date_of_death' is not "
        "closed where the value should end: it runs on over the next line, which looks like "
        "a row of its own — " + CLOSE_QUOTE)),
    Case("a lone CR inside a quoted value", "deaths", "lone_cr_in_quoted_value.csv",
         counts=(2, 2, 0)),
    Case("an LF file with some CR LF lines", "deaths", "lf_file_with_crlf_lines.csv",
         counts=(2, 2, 0),
         loaded=("SELECT date_of_death, place_of_death FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5), "hospital"), (date(2023, 1, 6), "hospital")])),
    Case("Windows-1252 smart quotes are not mixed encodings", "areas",
         "cp1252_smart_quotes.csv", counts=(1, 1, 0),
         loaded=("SELECT rural_urban FROM areas", [("“Urban” – £5",)])),
    Case("UTF-8 text that looks like mojibake is kept as written", "areas",
         "utf8_only_mojibake_shape.csv", counts=(1, 1, 0),
         loaded=("SELECT rural_urban FROM areas", [("CafÃ©",)])),
    # -- decimal marks: read right or refused with the fix --------------------------------
    Case("decimal commas refused with the fix", "activity", "decimal_comma.csv", refused=(
        "decimal_comma.csv row 2: cost '12,50' uses a comma as the decimal mark — add "
        "decimal = \",\" to mappings/activity.toml (dataset = \"activity\") if the file "
        "writes numbers as 1.234,56, then ingest it again")),
    Case("a decimal comma on the last row refuses the file", "activity",
         "decimal_comma_late.csv", refused=(
             "decimal_comma_late.csv row 7: cost '99,95' uses a comma as the decimal mark — "
             "add decimal = \",\" to mappings/activity.toml (dataset = \"activity\") if the "
             "file writes numbers as 1.234,56, then ingest it again")),
    Case("decimal commas with the mapping's decimal = \",\"", "activity",
         "decimal_comma.csv", mapping='dataset = "activity"\ndecimal = ","\n',
         counts=(3, 3, 0),
         loaded=("SELECT cost FROM activity ORDER BY source_row",
                 [(12.5,), (1234.56,), (1.234,)])),
    Case("decimal = \",\" refuses a number written 1,234.50", "activity",
         "thousands_quoted.csv", mapping='dataset = "activity"\ndecimal = ","\n',
         counts=(3, 3, 0), actions=[
             (2, "cost", "blanked", "cost '1,234.50' " + NOT_DECIMAL_COMMA),
             (4, "cost", "blanked", "cost '£ 15.75' " + NOT_DECIMAL_COMMA)],
         # "£2,000" with a decimal comma is two pounds
         loaded=("SELECT cost FROM activity ORDER BY source_row",
                 [(None,), (2.0,), (None,)])),
    Case("decimal = \".\" quarantines a decimal comma", "activity", "decimal_comma.csv",
         mapping='dataset = "activity"\ndecimal = "."\n', counts=(3, 1, 2), rejects=[
             (2, "cost", "cost '12,50' uses a comma as the decimal mark"),
             (3, "cost", "cost '1.234,56' uses a comma as the decimal mark")],
         loaded=("SELECT cost FROM activity ORDER BY source_row", [(1234.0,)])),
    Case("quoted thousands separators and pounds", "activity", "thousands_quoted.csv",
         counts=(3, 3, 0), loaded=("SELECT cost FROM activity ORDER BY source_row",
                                   [(1234.5,), (2000.0,), (15.75,)])),
    Case("thousands separators in a pipe file", "activity", "thousands_pipes.txt",
         counts=(2, 2, 0), loaded=("SELECT cost FROM activity ORDER BY source_row",
                                   [(1234.5,), (1345678.9,)])),
    Case("commas that group digits wrongly", "activity", "thousands_bad_grouping.csv",
         counts=(2, 2, 0),
         actions=[(2, "cost", "blanked", "cost '1,23,456' is not a number")]),
    Case("a decimal comma in a population", "population", "population_decimal_comma.csv",
         refused=("population_decimal_comma.csv row 3: population '12,5' uses a comma as the "
                  "decimal mark — add decimal = \",\" to mappings/population.toml (dataset = "
                  "\"population\") if the file writes numbers as 1.234,56, then ingest it "
                  "again")),
    # -- workbooks and Parquet that cannot be read: exit 3 with the fix -------------------
    Case("a damaged worksheet", "deaths", "damaged_sheet.xlsx", refused=(
        "damaged_sheet.xlsx: has a damaged worksheet (ParseError: no element found: line 1, "
        "column 603) — open it in Excel and save it again as .xlsx, or export CSV")),
    Case("a worksheet that is not XML", "deaths", "sheet_not_xml.xlsx", refused=(
        "sheet_not_xml.xlsx: is not a readable Excel workbook (unclosed token: line 1, "
        "column 0) — open it in Excel and save it again as .xlsx, or export CSV")),
    Case("a workbook with no worksheets", "deaths", "no_sheets.xlsx", refused=(
        "no_sheets.xlsx: is a workbook with no worksheets — check that the right file was "
        "exported, then save the data sheet from Excel as .xlsx or CSV")),
    Case("damaged Parquet pages", "deaths", "damaged_pages.parquet", refused=(
        "damaged_pages.parquet: is not a readable Parquet file (Snappy decompression "
        "failure) — re-export it, or export CSV instead")),
    Case("a Parquet column named like a reader option", "deaths",
         "file_row_number_column.parquet", counts=(200, 200, 0),
         loaded=("SELECT min(source_row), max(source_row) FROM deaths", [(1, 200)])),
    Case("format = xlsx on a CSV", "deaths", "good.csv",
         mapping='dataset = "deaths"\nformat = "xlsx"\n', refused=(
             "good.csv: is not an Excel workbook (.xlsx) as the mapping's format = \"xlsx\" "
             "says (it looks like a text (CSV) file) — " + FORMAT_FIX)),
    Case("format = parquet on a CSV", "deaths", "good.csv",
         mapping='dataset = "deaths"\nformat = "parquet"\n', refused=(
             "good.csv: is not a Parquet file as the mapping's format = \"parquet\" says (it "
             "looks like a text (CSV) file) — " + FORMAT_FIX)),
    Case("format = csv on a workbook", "deaths", "good.xlsx",
         mapping='dataset = "deaths"\nformat = "csv"\n', refused=(
             "good.xlsx: is not a text (CSV) file as the mapping's format = \"csv\" says (it "
             "looks like an Excel workbook (.xlsx)) — " + FORMAT_FIX)),
    Case("format = xlsx on a Parquet file", "deaths", "good.parquet",
         mapping='dataset = "deaths"\nformat = "xlsx"\n', refused=(
             "good.parquet: is not an Excel workbook (.xlsx) as the mapping's format = "
             "\"xlsx\" says (it looks like a Parquet file) — " + FORMAT_FIX)),
    # -- configuration faults: exit 2 with the key and the fix -----------------------------
    Case("an empty delimiter", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndelimiter = ""\n', refused=(
             "{mappings}: key 'delimiter' is '' — " + DELIMITER_FIX)),
    Case("a two-character delimiter", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndelimiter = ";;"\n', refused=(
             "{mappings}: key 'delimiter' is ';;' — " + DELIMITER_FIX)),
    Case("a quote as the delimiter", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndelimiter = "\\""\n', refused=(
             "{mappings}: key 'delimiter' is '\"' — " + DELIMITER_FIX)),
    Case("a line break as the delimiter", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndelimiter = "\\n"\n', refused=(
             "{mappings}: key 'delimiter' is '\\n' — " + DELIMITER_FIX)),
    Case("a date_format with an unknown code", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndate_format = "%d/%Q/%Y"\n', refused=(
             "{mappings}: key 'date_format' is '%d/%Q/%Y': '%Q' is not a date code — "
             + DATE_FIX)),
    Case("a date_format written dd/mm/yyyy", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndate_format = "dd/mm/yyyy"\n', refused=(
             "{mappings}: key 'date_format' is 'dd/mm/yyyy': it has no % codes — "
             + DATE_FIX)),
    Case("a date_format ending in %", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\ndate_format = "%d/%m/%"\n', refused=(
             "{mappings}: key 'date_format' is '%d/%m/%': a '%' ends it — " + DATE_FIX)),
    Case("an unknown decimal mark", "activity", "thousands_quoted.csv", code=2,
         mapping='dataset = "activity"\ndecimal = "comma"\n', refused=(
             "{mappings}: key 'decimal' is 'comma' — use \",\" (1.234,56), \".\" (1,234.56) "
             "or \"auto\"")),
    Case("one source column read as two columns", "deaths", "good.csv", code=2,
         mapping='dataset = "deaths"\n[columns]\nperson_id = "lsoa_code"\n', refused=(
             "{mappings}: column 'lsoa_code' of good.csv is read as both person_id and "
             "lsoa_code — map each to its own column under [columns]")),
    Case("one source column mapped twice", "deaths", "good.csv", code=2,
         mapping=('dataset = "deaths"\n[columns]\ndate_of_death = "date_of_death"\n'
                  'date_of_registration = "date_of_death"\n'), refused=(
             "{mappings}: column 'date_of_death' of good.csv is read as both date_of_death "
             "and date_of_registration — map each to its own column under [columns]")),
    Case("eolneeds.toml saved as Windows-1252", "deaths", "good.csv", code=2,
         config='[project]\nicb_name = "Test ICB – Café"\n'.encode("cp1252"), refused=(
             "{root}/eolneeds.toml: is not UTF-8 text (byte 0x96 at offset 31) — save it as "
             "UTF-8 (most editors offer it under Save As)")),
    Case("a mapping saved as Windows-1252", "areas", "cp1252.csv", code=2,
         mapping='dataset = "areas"\n[recode.rural_urban]\n"Café" = "urban"\n'
         .encode("cp1252"), refused=(
             "{mappings}: is not UTF-8 text (byte 0xe9 at offset 43) — save it as UTF-8 (most "
             "editors offer it under Save As)")),
    # -- the project database itself ---------------------------------------------------------
    Case("an empty database file", "deaths", "good.csv", database=b"", refused=(
        "{root}/eolneeds.duckdb: is not a readable DuckDB database (it is empty or damaged) — "
        "restore it from a backup, or move it aside and ingest the extracts again")),
    Case("a database file that is not DuckDB", "deaths", "good.csv",
         database=b"SQLite format 3\x00" + b"\x00" * 4000, refused=(
             "{root}/eolneeds.duckdb: is not a readable DuckDB database (it is empty or "
             "damaged) — restore it from a backup, or move it aside and ingest the extracts "
             "again")),
    # -- dates ----------------------------------------------------------------------------
    Case("dates in three formats", "deaths", "dates_three_formats.csv", counts=(4, 4, 0),
         loaded=("SELECT date_of_death FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5),), (date(2023, 1, 6),), (date(2023, 1, 7),),
                  (date(2023, 1, 8),)])),
    Case("impossible dates", "deaths", "dates_impossible.csv", counts=(5, 1, 4), rejects=[
        (2, "date_of_death", f"date_of_death '31/02/2023' {NOT_IN_FEBRUARY}"),
        (3, "date_of_death", "date_of_death '29/02/2023' is not a date: 2023 is not a leap year"),
        (4, "date_of_death", "date_of_death '2023-13-01' is not a date: there is no month 13"),
        (5, "date_of_death", f"date_of_death '05/01/23' {NOT_A_DATE}")]),
    Case("future date", "deaths", "dates_future.csv", counts=(2, 1, 1),
         rejects=[(2, "date_of_death", "date_of_death '01/01/2099' is in the future")]),
    Case("date_format from the mapping", "deaths", "dates_us_format.csv",
         mapping='dataset = "deaths"\ndate_format = "%m/%d/%Y"\n', counts=(2, 2, 0),
         loaded=("SELECT date_of_death FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 25),), (date(2023, 1, 5),)])),
    Case("registered before death", "deaths", "registration_before_death.csv",
         counts=(2, 2, 0), actions=[(2, "date_of_registration", "blanked",
                                     "date_of_registration '2023-01-04' is before "
                                     "date_of_death '2023-01-05'; a death is registered "
                                     "after it happens")]),
    Case("born after death; age from date of birth", "deaths", "birth_after_death.csv",
         counts=(2, 2, 0), actions=[(2, "date_of_birth", "blanked", "date_of_birth is "
                                     "after date_of_death '2023-01-05'")],
         # 06/01/1940 to 05/01/2023: the 83rd birthday is the day after death -> 82. The
         # death born after it keeps no date of birth, so no age.
         loaded=("SELECT age FROM deaths ORDER BY source_row", [(None,), (82,)])),
    # -- values ----------------------------------------------------------------------------
    Case("bad ages", "deaths", "ages_bad.csv", counts=(6, 6, 0), actions=[
        (2, "age", "blanked", "age '-3' is not between 0 and 120"),
        (3, "age", "blanked", "age '121' is not between 0 and 120"),
        (4, "age", "blanked", "age '85.5' is not a whole number"),
        (5, "age", "blanked", "age '[words withheld]' is not a whole number")]),
    Case("NHS numbers with spaces and bad check digits", "deaths", "nhs_numbers.csv",
         mapping='dataset = "deaths"\nnhs_number = true\n', counts=(5, 5, 0), actions=[
             (3, "person_id", "unlinked", f"person_id {UNLINKED}"),
             (4, "person_id", "unlinked", f"person_id {UNLINKED}"),
             (6, "person_id", "unlinked", f"person_id {UNLINKED}")]),
    Case("duplicate deaths in a file", "deaths", "duplicate_deaths.csv", counts=(4, 2, 2),
         rejects=[(4, "person_id", "duplicate death for this person: first seen on row 2 "
                                   "of this file"),
                  (5, "person_id", "duplicate death for this person: first seen on row 2 "
                                   "of this file")]),
    # The first file's P6 is not in the second, so the second does not replace it whole
    # (a cumulative re-supply would: test_cumulative_resupply.py).
    Case("duplicate death across files", "deaths", "duplicate_deaths_second.csv",
         before=["duplicate_deaths_first.csv"], counts=(2, 1, 1),
         rejects=[(3, "person_id", "duplicate death for this person: already loaded from "
                                   "duplicate_deaths_first.csv row 2")]),
    Case("ICD-10 oddities", "deaths", "icd10_oddities.csv", counts=(11, 11, 0), actions=[
        (8, "underlying_cause", "blanked", f"underlying_cause 'C3' {NOT_ICD}"),
        (9, "underlying_cause", "blanked", f"underlying_cause '34.9' {NOT_ICD}"),
        (10, "underlying_cause", "blanked", f"underlying_cause '[words withheld]' {NOT_ICD}"),
        # Two dots: not a longer code (it was read as C3491).
        (11, "underlying_cause", "blanked", f"underlying_cause 'C34.9.1' {NOT_ICD}")],
        loaded=("SELECT underlying_cause FROM deaths ORDER BY source_row",
                [("C349",), ("C34",), ("C34",), ("C34",), ("C34",), ("X59",), (None,),
                 (None,), (None,), (None,), (None,)])),
    # Only the date of death is required of a death: the rest blank or go unknown.
    Case("missing required values", "deaths", "missing_required.csv", counts=(5, 3, 2),
         rejects=[(3, "date_of_death", f"date_of_death {MISSING}"),
                  (6, "date_of_death", f"date_of_death {MISSING}")],
         actions=[(2, "person_id", "unlinked", "person_id is missing; the death still counts"),
                  (4, "sex", "set to unknown", "sex is missing; the death still counts"),
                  (5, "place_of_death", "set to unknown",
                   "place_of_death is missing; the death still counts")]),
    Case("huge field value", "deaths", "huge_value.csv", counts=(2, 1, 1), rejects=[
        (3, "lsoa_code", "lsoa_code is 5000 characters long (the limit is 255); check the "
                         "delimiter and quoting")]),
    Case("trailing totals rows", "deaths", "totals_row.csv", counts=(4, 2, 2), rejects=[
        (4, None, "row looks like a totals row (Total)"),
        (5, None, "row looks like a totals row (Grand total)")]),
    Case("unknown codes map to unknown and stay loaded", "deaths", "unknown_codes.csv",
         counts=(3, 3, 0),
         loaded=("SELECT sex, place_of_death, ethnicity, lsoa_code FROM deaths "
                 "ORDER BY source_row",
                 [("unknown", "unknown", "not_known", "E01000001"),
                  ("unknown", "care_home", "asian", "E01000001"),
                  ("female", "other", None, None)])),
    Case("mapping [columns] and [recode] tables", "deaths", "recoded.csv", mapping=(
        'dataset = "deaths"\n[columns]\nperson_id = "id"\ndate_of_death = "died"\n'
        'place_of_death = "where"\n[recode.sex]\n"3" = "female"\n'
        '[recode.place_of_death]\n"Residence code 7" = "care_home"\n'), counts=(2, 2, 0),
        loaded=("SELECT sex, place_of_death FROM deaths ORDER BY source_row",
                [("female", "care_home"), ("unknown", "unknown")])),
    Case("contributory causes in one column", "deaths", "contributory_list.csv",
         counts=(3, 3, 0), actions=[
             (3, "contributory_causes", "code dropped",
              "contributory_causes '[words withheld]' holds a value that is not an ICD-10 "
              "code (expected codes like C34.9 separated by ;)")],
         loaded=("SELECT contributory_causes FROM deaths ORDER BY source_row",
                 [(["C349", "I251"],), (["C349"],), ([],)])),
    Case("PCMD layout", "deaths", "pcmd.csv",
         mapping='dataset = "deaths"\npreset = "pcmd_deaths"\n', counts=(4, 4, 0),
         actions=[(4, "person_id", "unlinked", f"person_id (DEC_NHS_NUMBER) {UNLINKED}"),
                  # 9999999999 passes modulus 11 but is a placeholder
                  (5, "person_id", "unlinked", f"person_id (DEC_NHS_NUMBER) {UNLINKED}"),
                  # NHS flag 7 fits no PHE rule: unknown, and recorded
                  (5, "place_of_death", "set to unknown",
                   "place_of_death (POD_CODE, POD_NHS_ESTABLISHMENT, POD_ESTABLISHMENT_TYPE, "
                   "PLACE_OF_DEATH) 'no PHE rule for NHS establishment 7, type 7' is not a "
                   "known code; add a [recode.place_of_death] entry to the mapping"),
                  (5, "sex", "set to unknown", "sex (DEC_SEX) '3' is not a known code; add "
                                               "a [recode.sex] entry to the mapping")],
         loaded=("SELECT sex, place_of_death, contributory_causes FROM deaths "
                 "ORDER BY source_row",
                 [("female", "hospital", ["I251"]), ("male", "religious", []),
                  ("male", "hospital", []), ("unknown", "unknown", [])])),
    Case("XLSX title rows, blank row, totals row", "deaths", "title_rows_totals.xlsx",
         mapping='dataset = "deaths"\nsheet = "Deaths"\nheader_row = 3\n', counts=(5, 3, 2),
         rejects=[(8, "date_of_death", f"date_of_death '31/02/2023' {NOT_IN_FEBRUARY}"),
                  (9, None, "row looks like a totals row (Total)")],
         loaded=("SELECT date_of_death, age, sex, source_row FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5), 85, "female", 4), (date(2023, 1, 6), 85, "male", 5),
                  (date(2023, 1, 7), 70, "female", 7)])),
    # -- the other datasets ----------------------------------------------------------------
    Case("register values", "register", "register_bad.csv", counts=(4, 2, 2), rejects=[
        (3, "dnacpr", "dnacpr '[words withheld]' is not yes or no; add a [recode.dnacpr] "
                      "entry to the mapping"),
        (4, "date_added", "date_added '32/01/2023' is not a date: January has 31 days")],
        loaded=("SELECT gp_practice, preferred_place_of_death, dnacpr, advance_care_plan "
                "FROM register ORDER BY source_row",
                [("A81001", "home", True, False), ("A81001", "home", True, False)])),
    Case("register NHS numbers", "register", "register_nhs.csv",
         mapping='dataset = "register"\nnhs_number = true\n', counts=(2, 1, 1),
         rejects=[(3, "person_id", f"person_id {BAD_NHS}")]),
    Case("activity values", "activity", "activity_bad.csv", counts=(5, 4, 1), rejects=[
        (3, "activity_type", "activity_type '[words withheld]' is not a known activity type "
                             "(use one of emergency_admission, elective_admission, "
                             "ae_attendance, community_contact, "
                             "specialist_palliative_contact, hospice_inpatient, outpatient, "
                             "other); add a [recode.activity_type] entry to the mapping")],
        # A bad cost blanks the cost: the contact still counts; so does an attendance
        # whose end is before its start (its end blanked: its length is unknown).
        actions=[(4, "end_date", "blanked", "end_date '2023-01-04' is before start_date "
                  "'2023-01-05'; the activity counts by its start, with no bed days (its "
                  "length is unknown)"),
                 (5, "cost", "blanked", "cost 'abc' is not a number"),
                 (6, "cost", "blanked", "cost '-20' is negative")],
        loaded=("SELECT activity_type, end_date, cost FROM activity ORDER BY source_row",
                [("emergency_admission", date(2023, 1, 3), 100.0),
                 ("ae_attendance", None, None), ("elective_admission", date(2023, 1, 6), None),
                 ("community_contact", None, None)])),
    Case("HES APC layout", "activity", "hes_apc.csv",
         mapping='dataset = "activity"\npreset = "hes_apc"\n', counts=(4, 3, 1),
         rejects=[(3, "start_date", f"start_date (ADMIDATE) {MISSING}")],
         loaded=("SELECT activity_type, admission_method FROM activity ORDER BY source_row",
                 [("emergency_admission", "2A"), ("other", "99"),
                  ("elective_admission", "12")])),
    Case("population values", "population", "population_bad.csv", counts=(8, 1, 7), rejects=[
        (3, "age_band", "age_band '85+' is not an age band (use 0-4, 5-9, ..., 85-89, 90+); "
                        "add a [recode.age_band] entry to the mapping"),
        (4, "sex", "sex 'persons' is not male or female (population counts are by sex); add "
                   "a [recode.sex] entry to the mapping"),
        (5, "population", "population '-5' is negative"),
        (6, "lsoa_code", "duplicate row for this lsoa_code, year, sex and age_band (lsoa_code "
                         "'E01000001' year '2023' sex 'female' age_band '85-89'): first seen "
                         "on row 2 of this file"),
        (7, "year", "year 'twenty' is not a whole number"),
        (8, "lsoa_code", "lsoa_code 'X01000001' is not an LSOA code (expected E01 or W01 and "
                         "6 digits, e.g. E01000001)"),
        (9, "population", "population '12.5' is not a whole number")],
        loaded=("SELECT sex, age_band, population FROM population ORDER BY source_row",
                [("female", "85-89", 120.0)])),
    Case("areas values", "areas", "areas_bad.csv", counts=(6, 2, 4), rejects=[
        (3, "imd_decile", "imd_decile '0' is not between 1 and 10"),
        (4, "imd_decile", "imd_decile '11' is not between 1 and 10"),
        (5, "lsoa_vintage", "lsoa_vintage '2015' is not 2011 or 2021"),
        (6, "lsoa_code", "duplicate row for this lsoa_code (lsoa_code 'E01000001'): first "
                         "seen on row 2 of this file")],
        loaded=("SELECT lsoa_code, imd_decile FROM areas ORDER BY source_row",
                [("E01000001", 1), ("E01000005", 10)])),
    Case("projections values", "projections", "projections_bad.csv", counts=(4, 1, 3),
         rejects=[
             (3, "year", "year '1850' is not between 1900 and 2100"),
             (4, "population", "population 'lots' is not a number"),
             (5, "area_code", "duplicate row for this area_code, year, sex and age_band "
                              "(area_code 'P1' year '2030' sex 'female' age_band '90+'): "
                              "first seen on row 2 of this file")]),
    # -- exports as database clients and spreadsheets write them ---------------------------
    # SQL Server Management Studio: NULL for every missing value, datetimes with
    # milliseconds, char(n) padding, saved as Unicode text (UTF-16, tabs, CR LF). NULL was
    # read as a value: every row quarantined ("'NULL' is not an ICD-10 code").
    Case("SQL Server export: NULL, padded values, datetimes, UTF-16 tabs", "deaths",
         "ssms_null_utf16.txt", mapping='dataset = "deaths"\npreset = "pcmd_deaths"\n',
         counts=(4, 4, 0), actions=[
             (3, "sex", "set to unknown", "sex (DEC_SEX) is missing; the death still counts"),
             (4, "person_id", "unlinked",
              "person_id (DEC_NHS_NUMBER) is missing; the death still counts"),
             (5, "person_id", "unlinked",
              "person_id (DEC_NHS_NUMBER) is missing; the death still counts")],
         # Two deaths without an identifier are two deaths, not one person's duplicate.
         loaded=("SELECT date_of_death, date_of_registration, age, sex, lsoa_code, "
                 "underlying_cause, contributory_causes, place_of_death, "
                 "person_id LIKE 'u%' FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5), date(2023, 1, 9), 85, "female", "E01000001", "C349",
                   ["C349", "I251"], "home", False),
                  (date(2023, 1, 6), None, None, "unknown", None, None, [], "hospital", False),
                  (date(2023, 1, 7), None, 70, "male", "E01000002", "J44", [], "other", True),
                  (date(2023, 1, 8), None, 71, "male", "E01000002", "J44", [], "other",
                   True)])),
    Case("UTF-16 without a byte order mark (bcp -w)", "deaths", "bcp_utf16_no_bom.csv",
         counts=(2, 2, 0), loaded=("SELECT place_of_death FROM deaths ORDER BY source_row",
                                   [("hospital",), ("hospital",)])),
    Case("title rows and an empty line above the header, CR LF", "deaths",
         "title_rows_crlf.csv", mapping='dataset = "deaths"\nheader_row = 3\n',
         counts=(2, 1, 1), rejects=[(6, None, SHORT)],
         loaded=("SELECT source_row FROM deaths", [(4,)])),
    # They were "not a date" and quarantined the spell (emergency admissions lost).
    Case("SUS / HES null dates (1800-01-01, 1801-01-01)", "activity", "hes_null_dates.csv",
         mapping='dataset = "activity"\npreset = "hes_apc"\n', counts=(4, 3, 1),
         rejects=[(4, "start_date", f"start_date (ADMIDATE) {MISSING}")],
         loaded=("SELECT source_row, end_date FROM activity ORDER BY source_row",
                 [(2, None), (3, None), (5, date(2023, 1, 7))])),
    Case("register flags recorded as not known", "register",
         "register_flags_not_known.csv", counts=(3, 2, 1), rejects=[
             (4, "dnacpr", "dnacpr '[words withheld]' is not yes or no; add a "
                           "[recode.dnacpr] entry to the mapping")],
         loaded=("SELECT dnacpr, advance_care_plan FROM register ORDER BY source_row",
                 [(None, None), (None, True)])),
    # Read as one value running to the end: 0 rows read and exit 0, every death lost.
    Case("a title line opening a quote it never closes", "deaths", "title_open_quote.csv",
         mapping='dataset = "deaths"\nheader_row = 3\n', refused=(
             "title_open_quote.csv row 1: a title line above the header holds a quote that "
             "is not closed, so the rows below it cannot be told apart — delete the title "
             "lines (or close the quote), then ingest the file again")),
    # It said only "date_of_death 'date_of_death' is not a date".
    Case("the header repeated mid-file (exports joined)", "deaths", "header_repeated.csv",
         counts=(3, 2, 1), rejects=[
             (3, None, "row repeats the header (two exports joined together?); delete it; "
                       f"date_of_death 'date_of_death' {NOT_A_DATE}")]),
    Case("empty lines before the header", "deaths", "leading_empty_lines.csv",
         counts=(2, 1, 1), rejects=[(5, None, SHORT)],
         loaded=("SELECT source_row FROM deaths", [(4,)])),
    Case("Excel's sep=; line above the header", "deaths", "sep_line.csv",
         counts=(2, 1, 1), rejects=[(4, None, SHORT)],
         loaded=("SELECT source_row, place_of_death FROM deaths", [(3, "hospital")])),
    Case("NULL identifiers are missing, not one person", "register", "register_null_ids.csv",
         counts=(4, 2, 2), rejects=[(3, "person_id", f"person_id {MISSING}"),
                                    (4, "person_id", f"person_id {MISSING}")],
         loaded=("SELECT gp_practice, preferred_place_of_death, dnacpr FROM register "
                 "ORDER BY source_row", [("A81001", "home", True), (None, None, None)])),
    Case("a junk code in an S_COD_CODE column drops the code, not the death", "deaths",
         "pcmd_junk_contributory.csv", mapping='dataset = "deaths"\npreset = "pcmd_deaths"\n',
         counts=(2, 2, 0), actions=[
             (2, "contributory_causes", "code dropped",
              "contributory_causes (S_COD_CODE_2) '[words withheld]' " + NOT_ICD)],
         loaded=("SELECT contributory_causes FROM deaths ORDER BY source_row",
                 [(["C349"],), (["I219", "I25"],)])),
    Case("month names: DD-MON-YYYY (Oracle), 6 Jan 2023; not a two-digit year", "deaths",
         "dates_month_names.csv", counts=(4, 3, 1),
         rejects=[(5, "date_of_death", f"date_of_death '08-JAN-23' {NOT_A_DATE}")],
         loaded=("SELECT date_of_death FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5),), (date(2023, 1, 6),), (date(2023, 1, 7),)])),
    # 44931 days after 1899-12-30 is 5 January 2023 (Excel's day 1 is 1 January 1900).
    Case("Excel serial day numbers in a date column", "deaths", "dates_excel_serials.csv",
         counts=(3, 2, 1), rejects=[(4, "date_of_death", f"date_of_death '4493' {NOT_A_DATE}")],
         loaded=("SELECT date_of_death FROM deaths ORDER BY source_row",
                 [(date(2023, 1, 5),), (date(2023, 1, 6),)])),
    Case("a hidden sheet with the same columns is not the data", "deaths",
         "hidden_sheet.xlsx", counts=(1, 1, 0),
         loaded=("SELECT date_of_death, source_row FROM deaths", [(date(2023, 1, 5), 2)])),
    Case("NHS numbers written as decimals; one that lost its digits", "register",
         "register_float_nhs.csv", mapping='dataset = "register"\nnhs_number = true\n',
         counts=(3, 2, 1), rejects=[(4, "person_id", f"person_id {BAD_NHS}")],
         loaded=("SELECT count(DISTINCT person_id) FROM register", [(2,)])),
    # NHS England's platforms give Der_Pseudo_NHS_Number: the presets read it when no
    # clear identifier is there, without the NHS number check (it was every row refused).
    Case("Der_Pseudo_NHS_Number under a preset", "activity", "hes_pseudonymised.csv",
         mapping='dataset = "activity"\npreset = "hes_apc"\n', counts=(3, 3, 0),
         loaded=("SELECT count(DISTINCT person_id), count(end_date), count(cost) "
                 "FROM activity", [(2, 2, 2)])),
    # The advice on a file refused for its identifiers ("set nhs_number = false there")
    # did nothing under a preset, whose check always applied.
    Case("local identifiers under a preset refused with the fix", "activity",
         "hes_local_ids.csv", mapping=(
             'dataset = "activity"\npreset = "hes_apc"\n[columns]\n'
             'person_id = "LOCAL_PATIENT_ID"\n'), refused=(
             "hes_local_ids.csv: 3 of 3 rows would be quarantined (every row); the most "
             "common reason is \"person_id (LOCAL_PATIENT_ID) is not a valid NHS number "
             "(10 digits with a correct modulus 11 check digit)\" (3 rows), so nothing from "
             "the file was loaded — check that person_id is mapped to the NHS number column "
             "in {mappings}, or set nhs_number = false there if the identifier is not an NHS "
             "number")),
    Case("local identifiers under a preset with nhs_number = false", "activity",
         "hes_local_ids.csv", mapping=(
             'dataset = "activity"\npreset = "hes_apc"\nnhs_number = false\n[columns]\n'
             'person_id = "LOCAL_PATIENT_ID"\n'), counts=(3, 3, 0),
         loaded=("SELECT count(DISTINCT person_id), count(end_date), count(cost) "
                 "FROM activity", [(2, 2, 2)])),
    # The date of birth gives the age and is not kept, nor quoted (only its shape).
    Case("names, postcode and date of birth in the extract", "deaths",
         "personal_columns.csv", mapping='dataset = "deaths"\nnhs_number = true\n',
         counts=(4, 4, 0), actions=[
             (4, "date_of_birth", "blanked",
              f"date_of_birth '##/##/####' {NOT_A_DATE}"),
             (5, "date_of_birth", "blanked", "date_of_birth is after date_of_death "
                                             "'2023-01-07'")],
         loaded=("SELECT age, date_of_birth FROM deaths ORDER BY source_row",
                 [(107, None), (110, None), (None, None), (70, None)])),
    Case("a workbook whose recorded used range is stale is read to its end", "deaths",
         "stale_dimension.xlsx", counts=(5, 4, 1), rejects=[
             (4, None, "row has a value right of the last header (7 columns); give that "
                       "column a header, or delete the value")],
         loaded=("SELECT source_row FROM deaths ORDER BY source_row",
                 [(2,), (3,), (5,), (6,)])),
]


def _project(root: Path, case: Case):
    root.mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    if case.mapping:
        (root / "mappings").mkdir()
        (root / "mappings" / f"{case.dataset}.toml").write_bytes(_bytes(case.mapping))
    return load_config(root)


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_corpus_is_big_enough_and_covers_every_dataset():
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.dataset for c in CASES} == {"deaths", "register", "activity", "population",
                                          "areas", "projections"}
    for case in CASES:
        assert (CORPUS / case.file).is_file(), case.file
        assert case.code in (2, 3, 4)  # never 1: that is a bug


@pytest.fixture(scope="session")
def baseline_database(tmp_path_factory) -> bytes:
    """The database of a project with baseline.csv ingested (ingest writes no other file
    in the project), built once per worker: each refused case starts from a copy of it
    instead of ingesting the file again (75 ingests of the same row). Session-scoped, so
    the module's tests are not tied to one worker (tests/conftest.py groups the tests of
    a module with a module-scoped fixture)."""
    root = tmp_path_factory.mktemp("baseline") / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOLNEEDS_KEY", TEST_KEY)
        [result] = ingest_files(load_config(root), "deaths", [CORPUS / "baseline.csv"],
                                reporter=Reporter())
    assert (result.rows_loaded, result.rows_rejected) == (1, 0)
    assert sorted(p.name for p in root.iterdir()) == ["eolneeds.duckdb", "eolneeds.toml"]
    return (root / "eolneeds.duckdb").read_bytes()


def _prepare(tmp_path: Path, case: Case, baseline: bytes) -> Path:
    """A project for a refused case: data loaded first (the refusal must leave it
    bit-identical), then the case's mapping, eolneeds.toml or database file."""
    root = tmp_path / "project"
    root.mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    # Loaded before the case's own mapping exists: baseline.csv, ingested once.
    database = baseline if case.database is None else case.database
    (root / "eolneeds.duckdb").write_bytes(database)
    if case.mapping:
        (root / "mappings").mkdir()
        (root / "mappings" / f"{case.dataset}.toml").write_bytes(_bytes(case.mapping))
    if case.config is not None:
        (root / "eolneeds.toml").write_bytes(case.config)
    return root


def _refused(tmp_path: Path, case: Case, baseline: bytes) -> Path:
    """The case's file is refused with its exact message and exit code, and the database
    is left bit-identical (a refusal changes nothing). Returns the project folder."""
    root = _prepare(tmp_path, case, baseline)
    database = root / "eolneeds.duckdb"
    before = _digest(database)
    with pytest.raises(EolneedsError) as caught:
        config = load_config(root)
        for earlier in case.before:
            ingest_files(config, case.dataset, [CORPUS / earlier], reporter=Reporter())
            before = _digest(database)
        ingest_files(config, case.dataset, [CORPUS / case.file], encoding=case.encoding,
                     reporter=Reporter())
    mappings = root / "mappings" / f"{case.dataset}.toml"
    assert str(caught.value) == (case.refused or "").format(mappings=mappings, root=root)
    assert caught.value.exit_code == case.code
    assert "\n" not in str(caught.value)
    assert _digest(database) == before  # bit-identical: nothing of the file was kept
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(tmp_path, monkeypatch, baseline_database, case: Case):
    """The case does what it states; and, loaded, quarantined or refused, no NHS number
    of its input is kept anywhere in the project (issue 10.2, tests/identifier_leaks.py),
    checked on the project the case's own ingest left rather than by ingesting every
    case again for that check alone."""
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    numbers = numbers_in(CORPUS / name for name in [*case.before, case.file])
    if case.refused is not None:
        root = _refused(tmp_path, case, baseline_database)
        # A case's own database is a damaged file, left bit-identical (_refused): no
        # tables to read back, so its bytes are scanned with every file's.
        assert leaks(root, numbers, read_database=case.database is None) == []
        return
    config = _project(tmp_path / "project", case)
    for earlier in case.before:
        ingest_files(config, case.dataset, [CORPUS / earlier], reporter=Reporter())
    [result] = ingest_files(config, case.dataset, [CORPUS / case.file],
                            encoding=case.encoding, reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == case.counts
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        rejects = con.execute(
            "SELECT row_number, column_name, reason FROM rejects WHERE file_id = $f "
            "ORDER BY row_number", {"f": result.file_id}).fetchall()
        loaded_count = con.execute(
            f"SELECT count(*) FROM {case.dataset} WHERE source_file_id = $f",
            {"f": result.file_id}).fetchall()
        loaded = con.execute(case.loaded[0]).fetchall() if case.loaded else None
        actions = con.execute(
            "SELECT row_number, column_name, action, reason FROM field_actions "
            "WHERE file_id = $f ORDER BY row_number, column_name",
            {"f": result.file_id}).fetchall()
    finally:
        con.close()
    assert rejects == case.rejects
    if case.actions is not None:
        assert actions == case.actions
    assert loaded_count == [(result.rows_loaded,)]  # each row in exactly one place
    if case.loaded:
        assert loaded == case.loaded[1]
    assert leaks(config.root, numbers) == []


CLI_CASES = ["empty file", "duplicated column", "unreadable encoding", "wrong sheet name",
             "missing column", "an unclosed quote closed a line later",
             "UTF-8 lines in a Windows-1252 file", "decimal commas refused with the fix",
             "a damaged worksheet", "a workbook with no worksheets", "damaged Parquet pages",
             "format = xlsx on a CSV", "an empty delimiter", "a date_format with an unknown code",
             "one source column read as two columns", "eolneeds.toml saved as Windows-1252",
             "an empty database file", "a database file that is not DuckDB"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EOLNEEDS), *args], capture_output=True, text=True,
                          env={"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"}, timeout=120)


def _one_error_line(completed: subprocess.CompletedProcess[str]) -> str:
    """The single 'Error: ' line (never a traceback, never 'Internal error')."""
    assert "Traceback" not in completed.stderr + completed.stdout
    assert "Internal error" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("Error")]
    assert errors == [completed.stderr.splitlines()[-1]]
    return errors[0]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_refuses_with_one_line_and_its_exit_code(tmp_path, monkeypatch, baseline_database,
                                                     name):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    case = next(c for c in CASES if c.name == name)
    root = _prepare(tmp_path, case, baseline_database)
    completed = _cli("ingest", case.dataset, str(CORPUS / case.file), "--project", str(root))
    assert completed.returncode == case.code, completed.stderr
    mappings = root / "mappings" / f"{case.dataset}.toml"
    assert _one_error_line(completed) == "Error: " + (case.refused or "").format(
        mappings=mappings, root=root)


def test_cli_ingest_quarantines_and_exits_0(tmp_path):
    case = next(c for c in CASES if c.name == "truncated last line")
    config = _project(tmp_path / "project", case)
    completed = subprocess.run(
        [str(EOLNEEDS), "ingest", "deaths", str(CORPUS / case.file), "--project",
         str(config.root)],
        capture_output=True, text=True, env={"EOLNEEDS_KEY": TEST_KEY, "PATH": "/usr/bin"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr


# -- the project itself: locked, busy, read-only (exit 4 or 2, never 1) --------------------


def _loaded_project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    ingest_files(load_config(root), "deaths", [CORPUS / "baseline.csv"], reporter=Reporter())
    return root


def test_validate_during_a_run_exits_4_naming_the_holder(tmp_path, monkeypatch):
    root = _loaded_project(tmp_path, monkeypatch)
    with ProjectLock(root, command="eolneeds run --month 2026-10"):
        completed = _cli("validate", "--project", str(root))
    assert completed.returncode == 4, completed.stderr
    line = _one_error_line(completed)
    assert line.startswith(f"Error: project {root} is locked by another eolneeds run (pid ")
    assert "command: eolneeds run --month 2026-10) — let it finish" in line
    assert not (root / ".eolneeds.lock").exists()
    assert _cli("validate", "--project", str(root)).returncode == 3  # free again: it runs


def test_validate_while_another_process_writes_the_database_exits_4(tmp_path, monkeypatch):
    """No lock file (a process outside eolneeds, or one that lost it), but DuckDB's own
    file lock is held: validate says the project is busy instead of crashing."""
    root = _loaded_project(tmp_path, monkeypatch)
    database = root / "eolneeds.duckdb"
    holder = subprocess.Popen(
        [str(EOLNEEDS.parent / "python"), "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', "
         "flush=True); time.sleep(60)", str(database)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        before = _digest(database)
        completed = _cli("validate", "--project", str(root))
        ingest = _cli("ingest", "deaths", str(CORPUS / "good.csv"), "--project", str(root))
    finally:
        holder.kill()
        holder.wait()
    for result in (completed, ingest):
        assert result.returncode == 4, result.stderr
        assert _one_error_line(result).startswith(
            f"Error: {database} is open in another program (python")
        assert f"pid {holder.pid}): another eolneeds command, or a DuckDB session" in \
            _one_error_line(result)
    assert _digest(database) == before
    assert not (root / ".eolneeds.lock").exists()


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the CLI in this process (so the file system can be made to refuse writes:
    the tests run as root, whom a read-only folder does not stop)."""
    from eolneeds import cli

    monkeypatch.setattr(sys, "argv", ["eolneeds", *args])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    return int(ended.value.code or 0), capsys.readouterr().err


def test_read_only_project_folder(tmp_path, monkeypatch, capsys):
    root = _loaded_project(tmp_path, monkeypatch)

    def refuse(path, content):  # what os.open does in a folder the user cannot write
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("eolneeds.lock._create_exclusive", refuse)
    code, err = _main(monkeypatch, capsys, "ingest", "deaths", str(CORPUS / "good.csv"),
                      "--project", str(root))
    assert code == 2
    assert err.splitlines() == [
        f"Error: project folder {root} cannot be written (Permission denied), so its lock "
        ".eolneeds.lock cannot be taken — run eolneeds as a user who can write to the "
        "folder, or copy the project somewhere writable"]
    code, err = _main(monkeypatch, capsys, "run", "--month", "2023-03", "--project", str(root))
    assert code == 2 and err.startswith(f"Error: project folder {root} cannot be written")
    # validate only reads: it runs without the lock (blocking faults: exit 3, not 1 or 2)
    code, err = _main(monkeypatch, capsys, "validate", "--project", str(root))
    assert code == 3, err


def test_a_zip_bomb_workbook_is_refused_before_it_fills_memory(tmp_path, monkeypatch):
    """A 0.2 MB workbook whose shared strings expand to 200 MB took 290 MB more memory
    to ingest (and 4 MB would take gigabytes). The test shrinks the limit instead of
    writing hundreds of megabytes."""
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    monkeypatch.setattr("eolneeds.readers.BOMB_PART_BYTES", 2_000_000)
    bomb = tmp_path / "deaths.xlsx"
    with zipfile.ZipFile(CORPUS / "good.xlsx") as good, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for part in good.infolist():
            out.writestr(part, good.read(part.filename))
        out.writestr("xl/sharedStrings.xml", b"<sst><si><t>" + b"a" * 3_000_000
                     + b"</t></si></sst>")
    config = _project(tmp_path / "project", CASES[0])
    with pytest.raises(EolneedsError) as caught:
        ingest_files(config, "deaths", [bomb], reporter=Reporter())
    assert str(caught.value).startswith(
        "deaths.xlsx: part xl/sharedStrings.xml would expand from 0.0 MB to 3 MB, more than "
        "100 times: not a workbook a program saved, so it is not opened — check where the "
        "file came from")
    assert caught.value.exit_code == 3
    with pytest.raises(EolneedsError):
        inspect_file(bomb)


def test_a_folder_or_a_link_loop_given_as_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    config = _project(tmp_path / "project", CASES[0])
    folder = tmp_path / "deaths.csv"
    folder.mkdir()
    loop = tmp_path / "loop.csv"
    loop.symlink_to(tmp_path / "loop2.csv")
    (tmp_path / "loop2.csv").symlink_to(loop)
    for path, problem in [(folder, "is a folder, not a file — name the extract files "
                                   "inside it (e.g. folder/*.csv)"),
                          (loop, "is a link that leads to no file (broken, or a loop) — "
                                 "check the path and the file name")]:
        with pytest.raises(EolneedsError) as caught:
            ingest_files(config, "deaths", [path], reporter=Reporter())
        assert (str(caught.value), caught.value.exit_code) == (f"{path}: {problem}", 3)


@pytest.mark.parametrize("failure", ["DuckDB writing its log", "eolneeds writing a copy"])
def test_a_full_disk_is_exit_2_with_the_fix_and_leaves_the_database(tmp_path, monkeypatch,
                                                                   capsys, failure):
    """Found on a 1.5 MB tmpfs: the commit failed with "No space left on device" and the
    CLI called it a bug (exit 1). A full disk is the machine's fault, like a folder that
    cannot be written (exit 2), and the failed file's transaction leaves nothing."""
    import errno

    root = _loaded_project(tmp_path, monkeypatch)
    before = _digest(root / "eolneeds.duckdb")
    wal = root / "eolneeds.duckdb.wal"
    if failure.startswith("DuckDB"):
        exc: Exception = duckdb.IOException(
            f'TransactionContext Error: Failed to commit: Could not write file "{wal}": No '
            "space left on device")
        where = wal
    else:
        where = root / ".eolneeds-tmp" / "eolneeds-x.csv"
        exc = OSError(errno.ENOSPC, "No space left on device", str(where))

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr("eolneeds.readers.read_into", fail)
    code, err = _main(monkeypatch, capsys, "ingest", "deaths", str(CORPUS / "good.csv"),
                      "--project", str(root))
    assert (code, err.splitlines()[-1:]) == (2, [
        f"Error: the disk is full while writing {where} — free some space on it (or move "
        "the project to a disk with room), then run the command again; the database keeps "
        "what the last finished command wrote"])
    assert _digest(root / "eolneeds.duckdb") == before


@pytest.mark.parametrize("damage", ["blocks overwritten", "cut in half"])
def test_a_damaged_database_is_exit_3_for_every_command(tmp_path, monkeypatch, damage):
    """A database damaged after it was written (a disk fault, a copy cut short) is input
    the user must restore, not a bug: exit 3 however far DuckDB gets before it notices."""
    root = _loaded_project(tmp_path, monkeypatch)
    database = root / "eolneeds.duckdb"
    data = bytearray(database.read_bytes())
    if damage == "cut in half":
        data = data[:len(data) // 2]
    else:  # everything after DuckDB's three file headers
        data[12288:] = b"\x55" * (len(data) - 12288)
    database.write_bytes(bytes(data))
    for args in (["validate"], ["ingest", "deaths", str(CORPUS / "good.csv")], ["assess"]):
        completed = _cli(*args, "--project", str(root))
        assert completed.returncode == 3, (args, completed.stderr)
        assert _one_error_line(completed).endswith(
            "is not a readable DuckDB database (it is empty or damaged) — restore it from a "
            "backup, or move it aside and ingest the extracts again"), args
