"""Writes the bad-input corpus beside this script (run it after changing a case).

    python tests/bad_inputs/make_corpus.py

The files are committed, so tests read them as they are; this script documents how
each was made, byte for byte (encodings, BOMs, NUL bytes, truncation, workbooks).
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent

D = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
OK = "05/01/2023,85,F,E01000001,C34.9,Hospital"  # a valid death after its person_id
R = "person_id,date_added,gp_practice,preferred_place_of_death,dnacpr,advance_care_plan"
A = "person_id,activity_type,start_date,end_date,admission_method,cost"
POP = "lsoa_code,year,sex,age_band,population"
AREAS = "lsoa_code,place,imd_decile,rural_urban,lsoa_vintage"
PROJ = "area_code,year,sex,age_band,population"
PCMD = ("DEC_NHS_NUMBER,REG_DATE_OF_DEATH,REG_DATE,DEC_AGEC,DEC_SEX,DEC_LSOA,"
        "S_UNDERLYING_COD_ICD10,S_COD_CODE_1,POD_CODE,POD_NHS_ESTABLISHMENT,"
        "POD_ESTABLISHMENT_TYPE")
HES = "PERSON_ID,ADMIDATE,DISDATE,ADMIMETH,TRETSPEF,SPELL_COST"


def nhs(seed: int) -> str:
    """A realistic NHS number (valid modulus 11 check digit), distinct per seed, so a
    privacy scan can look for every input NHS number after a case."""
    stem = 943476000 + seed * 7
    while True:
        digits = [int(d) for d in f"{stem:09d}"]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return f"{stem:09d}{check}"
        stem += 1


def text(name: str, lines: list[str], encoding: str = "utf-8", end: str = "\n",
         final_newline: bool = True) -> None:
    body = end.join(lines) + (end if final_newline else "")
    (HERE / name).write_bytes(body.encode(encoding))


def raw(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def rezip(data: bytes, member: str, change) -> bytes:  # type: ignore[no-untyped-def]
    """A copy of the zip `data` with `member` changed by `change` (a workbook part)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            part = zin.read(item.filename)
            zout.writestr(item, change(part) if item.filename == member else part)
    return out.getvalue()


def workbook(name: str, sheets: dict[str, list[list[object]]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(HERE / name)


def main() -> None:
    # -- whole-file refusals ------------------------------------------------------------
    raw("empty.csv", b"")
    raw("blank_lines_only.csv", b"\n \n\r\n")
    text("missing_column.csv", ["person_id,dod,age,sex,lsoa_code,underlying_cause,"
                                "place_of_death", "P1," + OK])
    text("misnamed_column.csv", ["person_id,date_of_deaths,age,sex,lsoa_code,"
                                 "underlying_cause,place_of_death", "P1," + OK])
    text("duplicated_column.csv", ["person_id,date_of_death,age,sex,lsoa_code,sex",
                                   "P1,05/01/2023,85,F,E01000001,F"])
    text("duplicated_column_case.csv", ["person_id,date_of_death,Age,age,sex,place_of_death",
                                        "P1,05/01/2023,85,85,F,Home"])
    raw("binary.csv", b"person_id\x00\x01\x02\x03,date\n\x00\x00")
    # 0x81 is undefined in cp1252 and invalid as UTF-8: no encoding we try can read it.
    raw("undecodable.csv", (D + "\nP1,05/01/2023,85,F,E01000001,C34.9,Hosp\x81tal\n")
        .encode("latin-1"))
    text("cp1252_forced_utf8.csv", [AREAS, "E01000001,P1,3,Café,2021"], "cp1252")
    raw("old_format.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    raw("corrupt.xlsx", b"PK\x03\x04 this is not really a workbook")
    text("semicolons_forced_comma.csv", [D.replace(",", ";"), "P1;" + OK.replace(",", ";")])
    text("title_rows_unmapped.csv", ["Deaths extract March 2025", "",
                                     D, "P1," + OK])
    text("pcmd_missing_pod.csv", [PCMD.replace("POD_CODE,", ""),
                                  "9434765919,20230105,20230110,85,2,E01000001,C349,,1,01"])
    text("register_missing_date_added.csv", ["person_id,gp_practice", "P1,A81001"])
    text("activity_missing_type.csv", ["person_id,start_date", "P1,2023-01-01"])
    text("population_missing_age_band.csv", ["lsoa_code,year,sex,population",
                                             "E01000001,2023,F,10"])
    text("areas_missing_place.csv", ["lsoa_code,imd_decile", "E01000001,3"])
    text("projections_missing_area.csv", ["year,sex,age_band,population",
                                          "2030,F,85-89,10"])
    full = gzip.compress((D + "\n" + "\n".join(f"P{i}," + OK for i in range(2000)))
                         .encode("utf-8"))
    raw("truncated.csv.gz", full[: len(full) // 2])
    workbook("wrong_sheet.xlsx", {"Deaths": [D.split(",")], "Notes": [["x"]]})
    workbook("empty_sheet.xlsx", {"Sheet1": []})

    # -- encodings and delimiters that load -----------------------------------------
    text("cp1252.csv", [AREAS, "E01000001,P1,3,Urban – café £,2021",
                        "E01000002,P1,11,Rural – village,2021"], "cp1252")
    text("bom.csv", ["\ufeff" + D, "P1," + OK, "P2," + OK])
    text("utf16.csv", [D, "P1," + OK, "P2,31/02/2023,85,F,E01000001,C34.9,Home"], "utf-16")
    text("semicolons.csv", [D.replace(",", ";"), "P1;" + OK.replace(",", ";"),
                            "P2;05/01/2023;-1;F;E01000001;C34.9;Home"])
    text("tabs.tsv", [D.replace(",", "\t"), "P1\t" + OK.replace(",", "\t")])
    text("pipes.txt", [D.replace(",", "|"), "P1|" + OK.replace(",", "|")])
    text("crlf.csv", [D, "P1," + OK, "P2,05/13/2023,85,F,E01000001,C34.9,Home"], end="\r\n")
    text("mixed_delimiters.csv", [D, "P1," + OK, "P2;05/01/2023;85;F;E01000001;C34.9;Home"])
    text("quoted_newline.csv", [D, 'P1,05/01/2023,85,F,E01000001,C34.9,"Hospital"',
                                'P2,05/01/2023,85,F,E01000001,C34.9,"Home,\nsweet home"'])
    text("extra_fields.csv", [D, "P1," + OK, "P2,05/01/2023,85,F,E01000001,C34.9,Home,extra"])
    text("truncated_last_line.csv", [D, "P1," + OK, "P2,05/01/20"], final_newline=False)
    text("header_only.csv", [D])
    text("trailing_empty_columns.csv", [D + ",,", "P1," + OK + ",,", ",,,,,,,,"])

    # -- structural faults (issue 10.3) ---------------------------------------------------
    n1, n2, n3, n4 = nhs(1), nhs(2), nhs(3), nhs(4)
    text("short_row.csv", [D + ",ethnicity", n1 + "," + OK + ",A",
                           n2 + "," + OK, n3 + "," + OK + ",B"])
    text("short_row_shifted.csv", [D, n1 + "," + OK,
                                   n2 + ",05/01/2023,85,F,C34.9,Home"])
    text("unclosed_quote_eof.csv", [D, n1 + "," + OK,
                                    n2 + ',05/01/2023,85,F,E01000001,"C34.9,Home',
                                    n3 + "," + OK, n4 + "," + OK])
    text("unclosed_quote_mid.csv", [D, n1 + "," + OK,
                                    n2 + ',05/01/2023,85,F,E01000001,C34.9,"Home',
                                    n3 + ',05/01/2023,85,F,E01000001,C34.9,Home"',
                                    n4 + "," + OK])
    text("unclosed_quote_unmapped.csv", [D + ",notes", n1 + "," + OK + ",fine",
                                         n2 + "," + OK + ',"open',
                                         n3 + "," + OK + ',x"', n4 + "," + OK + ",ok"])
    text("quoted_newline_unmapped.csv", [D + ",notes", n1 + "," + OK + ',"two\nlines"',
                                         n2 + "," + OK + ",one line"])
    raw("mixed_line_endings.csv", (D + "\r\n" + n1 + "," + OK + "\r\n"
                                   + n2 + ",06/01/2023,85,F,E01000001,C34.9,Home\r"
                                   + n3 + ",07/01/2023,85,F,E01000001,C34.9,Home\n"
                                   + n4 + ",08/01/2023,85,F,E01000001,C34.9,Home\r\n")
        .encode())
    raw("cr_only.csv", (D + "\r" + n1 + "," + OK + "\r" + n2 + "," + OK + "\r").encode())
    raw("cr_only_empty_line.csv", (D + "\r" + n1 + "," + OK + "\r\r" + n2
                                   + ",05/01/2023,85,F,E01000001,C34.9\r").encode())
    raw("mixed_encoding.csv", (AREAS + "\nE01000001,P1,3,Urban – café,2021\n").encode("cp1252")
        + "E01000002,P1,4,Rural – café,2021\n".encode())
    raw("mixed_encoding_mostly_utf8.csv",
        (AREAS + "\nE01000001,P1,3,Urban – café,2021\n").encode("utf-8")
        + "E01000002,P1,4,Rural – café,2021\n".encode("cp1252"))

    semi = D.replace(",", ";")
    text("short_rows_semicolons.csv", [semi, n1 + ";" + OK.replace(",", ";"),
                                       n2 + ";05/01/2023;85;F", n3 + ";05/01/2023",
                                       n4 + ";" + OK.replace(",", ";")])
    text("short_row_tabs.tsv", [D.replace(",", "\t") + "\tethnicity",
                                n1 + "\t" + OK.replace(",", "\t") + "\tA",
                                n2 + "\t" + OK.replace(",", "\t")])
    text("short_and_long_rows.csv", [D, n1 + "," + OK + ",extra", n2 + ",05/01/2023,85",
                                     n3 + "," + OK])
    text("short_row_after_empty_line.csv", [D, n1 + "," + OK, "", "",
                                            n2 + ",05/01/2023,85,F,E01000001,C34.9"])
    text("short_row_utf16.csv", [D, n1 + "," + OK, n2 + ",05/01/2023,85,F"], "utf-16")
    text("short_row_trailing_header_commas.csv", [D + ",,", n1 + "," + OK + ",,",
                                                  n2 + ",05/01/2023,85,F,E01000001"])
    text("empty_last_field.csv", [D + ",ethnicity", n1 + "," + OK + ",",
                                  n2 + "," + OK + ',""'])
    text("stray_quote_in_value.csv", [D, n1 + ',05/01/2023,85,F,E01000001,C34.9,Home 5" hall',
                                      n2 + "," + OK])
    text("quoted_fields_crlf_trailing_blank_lines.csv",
         [semi, n1 + ';05/01/2023;85;F;E01000001;C34.9;"Home"', n2 + ";" + OK.replace(",", ";"),
          "", ""], end="\r\n")
    raw("unclosed_quote.csv.gz", gzip.compress(
        (D + "\n" + n1 + "," + OK + "\n" + n2 + ',05/01/2023,85,F,E01000001,C34.9,"Home\n'
         + n3 + "," + OK + "\n" + n4 + "," + OK + "\n").encode(), mtime=0))
    text("unclosed_quote_pipes.txt", [D.replace(",", "|"), n1 + "|" + OK.replace(",", "|"),
                                      n2 + '|"05/01/2023|85|F|E01000001|C34.9|Home',
                                      n3 + "|" + OK.replace(",", "|")])
    raw("lone_cr_in_quoted_value.csv", (D + "\r\n" + n1 + ',05/01/2023,85,F,E01000001,C34.9,'
                                        '"Home\rsweet"\r\n' + n2 + "," + OK + "\r\n").encode())
    raw("lf_file_with_crlf_lines.csv", (D + "\n" + n1 + "," + OK + "\r\n" + n2 + ","
                                        + OK.replace("05/01", "06/01") + "\n").encode())
    text("cp1252_smart_quotes.csv", [AREAS, "E01000001,P1,3,“Urban” – £5,2021"], "cp1252")
    text("utf8_only_mojibake_shape.csv", [AREAS, "E01000001,P1,3,CafÃ©,2021"])

    # -- decimal marks ------------------------------------------------------------------
    A_SEMI = A.replace(",", ";")
    text("decimal_comma.csv", [A_SEMI, n1 + ";Emergency;2023-01-01;2023-01-03;21;12,50",
                               n2 + ";Emergency;2023-01-01;2023-01-03;21;1.234,56",
                               n3 + ";Emergency;2023-01-01;2023-01-03;21;1,234"])
    text("decimal_comma_late.csv", [A_SEMI] + [
        f"{nhs(20 + i)};Emergency;2023-01-01;2023-01-03;21;{100 + i}" for i in range(5)]
        + [n1 + ";Emergency;2023-01-01;2023-01-03;21;99,95"])
    text("thousands_quoted.csv", [A, n1 + ',Emergency,2023-01-01,2023-01-03,21,"1,234.50"',
                                  n2 + ',Emergency,2023-01-01,2023-01-03,21,"£2,000"',
                                  n3 + ",Emergency,2023-01-01,2023-01-03,21,£ 15.75"])
    text("thousands_pipes.txt", [A.replace(",", "|"),
                                 n1 + "|Emergency|2023-01-01|2023-01-03|21|1,234.50",
                                 n2 + "|Emergency|2023-01-01|2023-01-03|21|1,345,678.9"])
    text("thousands_bad_grouping.csv", [A, n1 + ',Emergency,2023-01-01,2023-01-03,21,"1,23,456"',
                                        n2 + ",Emergency,2023-01-01,2023-01-03,21,10"])
    text("population_decimal_comma.csv", [POP.replace(",", ";"), "E01000001;2023;F;85-89;120",
                                          "E01000001;2023;M;85-89;12,5"])

    # -- workbooks, Parquet and mapping faults (exit 2 or 3, never 1) ----------------------
    workbook("good.xlsx", {"Deaths": [D.split(","), [n1, "05/01/2023", 85, "F", "E01000001",
                                                     "C34.9", "Home"]]})
    good = (HERE / "good.xlsx").read_bytes()
    raw("damaged_sheet.xlsx", rezip(good, "xl/worksheets/sheet1.xml", lambda d: d[:len(d) // 2]))
    raw("sheet_not_xml.xlsx", rezip(good, "xl/worksheets/sheet1.xml", lambda d: b"<not xml"))
    raw("no_sheets.xlsx", rezip(good, "xl/workbook.xml",
                                lambda d: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", d)))
    import pyarrow as pa
    import pyarrow.parquet as pq
    columns = D.split(",")
    rows = [[nhs(40 + i), "05/01/2023", "85", "F", "E01000001", "C34.9", "Home"]
            for i in range(200)]
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    pq.write_table(table, HERE / "good.parquet", use_dictionary=False, compression="snappy")
    data = bytearray((HERE / "good.parquet").read_bytes())
    data[200:1200] = b"\xab" * 1000  # the column pages; the footer stays readable
    raw("damaged_pages.parquet", bytes(data))
    pq.write_table(table.append_column("file_row_number", pa.array(
        [f"record {i}" for i in range(200)])), HERE / "file_row_number_column.parquet")
    text("good.csv", [D, n1 + "," + OK, n2 + "," + OK])
    text("baseline.csv", [D, nhs(90) + "," + OK])  # loaded before each refusal

    # -- dates --------------------------------------------------------------------------
    text("dates_three_formats.csv", [D, "P1,05/01/2023,85,F,E01000001,C34.9,Home",
                                     "P2,2023-01-06,85,F,E01000001,C34.9,Home",
                                     "P3,20230107,85,F,E01000001,C34.9,Home",
                                     "P4,2023-01-08 00:00:00,85,F,E01000001,C34.9,Home"])
    text("dates_impossible.csv", [D, "P1,31/02/2023,85,F,E01000001,C34.9,Home",
                                  "P2,29/02/2023,85,F,E01000001,C34.9,Home",
                                  "P3,2023-13-01,85,F,E01000001,C34.9,Home",
                                  "P4,05/01/23,85,F,E01000001,C34.9,Home",
                                  "P5,29/02/2024,85,F,E01000001,C34.9,Home"])
    text("dates_future.csv", [D, "P1,01/01/2099,85,F,E01000001,C34.9,Home",
                              "P2," + OK])
    text("dates_us_format.csv", [D, "P1,01/25/2023,85,F,E01000001,C34.9,Home",
                                 "P2,01/05/2023,85,F,E01000001,C34.9,Home"])
    text("registration_before_death.csv",
         [D + ",date_of_registration", "P1," + OK + ",04/01/2023", "P2," + OK + ",10/01/2023"])
    text("birth_after_death.csv",
         ["person_id,date_of_death,date_of_birth,sex,place_of_death",
          "P1,05/01/2023,06/01/2023,F,Home", "P2,05/01/2023,06/01/1940,F,Home"])

    # -- values ---------------------------------------------------------------------------
    text("ages_bad.csv", [D, "P1,05/01/2023,-3,F,E01000001,C34.9,Home",
                          "P2,05/01/2023,121,F,E01000001,C34.9,Home",
                          "P3,05/01/2023,85.5,F,E01000001,C34.9,Home",
                          "P4,05/01/2023,eighty,F,E01000001,C34.9,Home",
                          "P5,05/01/2023,120,F,E01000001,C34.9,Home",
                          "P6,05/01/2023,0,F,E01000001,C34.9,Home"])
    text("nhs_numbers.csv", [D, "943 476 5919," + OK, "943-476-5919-X," + OK,
                             "9434765918," + OK, "401 023 2137," + OK, "12345," + OK])
    text("duplicate_deaths.csv", [D, "P1," + OK, "P2," + OK, "P1," + OK, "P1," + OK])
    text("duplicate_deaths_first.csv", [D, "P7," + OK])
    text("duplicate_deaths_second.csv", [D, "P8," + OK, "P7," + OK])
    text("icd10_oddities.csv", [D] + [
        f"P{i},05/01/2023,85,F,E01000001,{code},Home"
        for i, code in enumerate(["C34.9", "c34 ", "C34X", "C34.X", "c34-", "X59", "C3",
                                  "34.9", "cancer", "C34.9.1", ""], start=1)])
    text("missing_required.csv", [D, ",05/01/2023,85,F,E01000001,C34.9,Home",
                                  "P2,,85,F,E01000001,C34.9,Home",
                                  "P3,05/01/2023,85,,E01000001,C34.9,Home",
                                  "P4,05/01/2023,85,F,E01000001,C34.9,",
                                  "P5,,85,,E01000001,C34.9,Home"])
    text("huge_value.csv", [D, "P1," + OK, "P2,05/01/2023,85,F," + "E" * 5000 + ",C34.9,Home"])
    text("totals_row.csv", [D, "P1," + OK, "P2," + OK, "Total,,170,,,,", "Grand total,,,,,,"])
    text("unknown_codes.csv", [D + ",ethnicity",
                               "P1,05/01/2023,85,Q,E01000001,C34.9,On the moon,Martian",
                               "P2,05/01/2023,85,9,E01000001,C34.9,Nursing home,H",
                               "P3,05/01/2023,85,2,,C34.9,Elsewhere,"])
    text("recoded.csv", ["id,died,sex,where", "P1,05/01/2023,3,Residence code 7",
                         "P2,05/01/2023,4,Residence code 9"])
    text("contributory_list.csv", [D + ",contributory_causes",
                                   "P1," + OK + ",C34.9; I25.1",
                                   "P2," + OK + ",C34.9;nonsense",
                                   "P3," + OK + ","])
    text("pcmd.csv", [PCMD,
                      "9434765919,20230105,20230110,85,2,E01000001,C349,I251,X,1,1",
                      "4010232137,20230106,20230111,70,1,E01000001,I219,,X,2,52",
                      "4010232138,20230106,20230111,70,1,E01000001,I219,,X,2,01",
                      "9999999999,20230107,20230108,70,3,E01000001,I219,,X,7,7"])

    # -- register, activity, population, areas, projections ------------------------------
    text("register_bad.csv", [R, "P1,05/01/2023,a81001,Home,Y,N",
                              "P2,05/01/2023,A81001,Moon,maybe,N",
                              "P3,32/01/2023,A81001,Hospice,N,",
                              "P1,05/01/2023,A81001,Home,Y,N"])
    text("register_nhs.csv", [R, "943 476 5919,05/01/2023,A81001,Home,yes,no",
                              "943 476 5910,05/01/2023,A81001,Home,yes,no"])
    text("activity_bad.csv", [A, "P1,Emergency,2023-01-01,2023-01-03,21,100",
                              "P2,teleportation,2023-01-01,,,",
                              "P3,A&E,2023-01-05,2023-01-04,,",
                              "P4,elective,2023-01-05,2023-01-06,11,abc",
                              "P5,community,2023-01-05,,,-20"])
    text("hes_apc.csv", [HES, "9434765919,2023-01-01,2023-01-03,2A,300,1000",
                         "9434765919,,2023-01-03,21,300,1000",
                         "9434765919,2023-01-01,2023-01-03,99,300,1000",
                         "9434765919,2023-01-01,2023-01-03,12,300,1000"])
    text("population_bad.csv", [POP, "E01000001,2023,F,85-89,120",
                                "E01000001,2023,M,85+,10",
                                "E01000001,2023,persons,90+,10",
                                "E01000001,2023,M,90+,-5",
                                "E01000001,2023,F,85-89,99",
                                "E01000001,twenty,F,0-4,10",
                                "X01000001,2023,F,0-4,10",
                                "E01000001,2023,2,00-04,12.5"])
    text("areas_bad.csv", [AREAS, "E01000001,P1,1,Urban,2021", "E01000002,P1,0,Urban,2021",
                           "E01000003,P1,11,Urban,2021", "E01000004,P1,5,Urban,2015",
                           "E01000001,P2,5,Urban,2021", "e01000005,P1,10,,"])
    text("projections_bad.csv", [PROJ, "P1,2030,F,90 and over,100",
                                 "P1,1850,F,85-89,100", "P1,2030,F,85-89,lots",
                                 "P1,2030,F,90+,100"])
    workbook("title_rows_totals.xlsx", {"Notes": [["read me"]], "Deaths": [
        ["Deaths extract, Test ICB"], [], D.split(","),
        ["P1", datetime(2023, 1, 5), 85, "F", "E01000001", "C34.9", "Home"],
        ["P2", date(2023, 1, 6), 85.0, "M", "E01000001", "I21", "Hospital"],
        [],
        [9434765919, "07/01/2023", "70", "2", "E01000001", "J44", "Care home"],
        ["P4", "31/02/2023", 70, "M", "E01000001", "J44", "Care home"],
        ["Total", None, 310],
    ]})
    exports()


def exports() -> None:
    """Files as database clients and spreadsheets write them (SQL Server Management
    Studio, Oracle, Excel), found by trying real-shaped exports."""
    # SSMS "Save results as": NULL for every missing value, datetimes with a time,
    # char(n) columns padded with spaces; as Excel's "Unicode Text" (UTF-16, tabs).
    def ssms(values: list[str]) -> str:
        return "\t".join("NULL" if v == "" else v.ljust(12) for v in values)
    pcmd = PCMD.split(",") + ["S_COD_CODE_2"]
    text("ssms_null_utf16.txt", [ssms(pcmd)] + [ssms(r) for r in [
        [nhs(101), "2023-01-05 00:00:00.000", "2023-01-09 00:00:00.000", "85", "2",
         "E01000001", "C349", "C349", "H", "", "", "I251"],
        [nhs(102), "2023-01-06 00:00:00.000", "", "", "", "", "", "", "CE1", "1", "01", ""],
        ["", "2023-01-07 00:00:00.000", "", "70", "1", "E01000002", "J44", "", "E", "", "",
         ""],
        ["", "2023-01-08 00:00:00.000", "", "71", "1", "E01000002", "J44", "", "E", "", "",
         ""]]], "utf-16", end="\r\n")
    # Identifiers of a local system that already pseudonymised them, with NULL for none:
    # NULL is no one, not one person with four registrations.
    text("register_null_ids.csv", [R, "L001,2023-01-05,A81001,home,Y,N",
                                   "NULL,2023-01-06,A81001,home,Y,N",
                                   "NULL,2023-01-07,A81001,home,Y,N",
                                   "L002,2023-01-08,NULL,NULL,NULL,NULL"])
    # A junk code in one of the S_COD_CODE_n columns drops that code, not the death.
    text("pcmd_junk_contributory.csv", [
        PCMD + ",S_COD_CODE_2",
        f"{nhs(103)},20230105,20230109,85,2,E01000001,C349,c34.9x,H,,,junk",
        f"{nhs(104)},20230106,20230109,80,1,E01000001,I219,I21.9,H,,,I25-"])
    # Oracle's DD-MON-YYYY and month names: unambiguous, always read.
    text("dates_month_names.csv", [D, "P1,05-JAN-2023,85,F,E01000001,C34.9,Hospital",
                                   "P2,6 Jan 2023,85,F,E01000001,C34.9,Hospital",
                                   "P3,07-January-2023 00:00:00,85,F,E01000001,C34.9,Hospital",
                                   "P4,08-JAN-23,85,F,E01000001,C34.9,Hospital"])
    # A date column formatted as General in Excel, then saved as CSV: serial numbers.
    text("dates_excel_serials.csv", [D, "P1,44931,85,F,E01000001,C34.9,Hospital",
                                     "P2,44932.5,85,F,E01000001,C34.9,Hospital",
                                     "P3,4493,85,F,E01000001,C34.9,Hospital"])
    # A workbook with an old hidden copy of the data sheet before the visible one.
    book = openpyxl.Workbook()
    book.remove(book.active)
    old = book.create_sheet("Old extract")
    old.append(D.split(","))
    old.append(["P0", "05/01/2020", 85, "F", "E01000001", "C34.9", "Home"])
    old.sheet_state = "hidden"
    sheet = book.create_sheet("Deaths")
    sheet.append(D.split(","))
    sheet.append(["P1", date(2023, 1, 5), 85, "F", "E01000001", "C34.9", "Home"])
    book.save(HERE / "hidden_sheet.xlsx")
    # NHS numbers as a tool that read them as decimals writes them (pandas: "….0"), and
    # as Excel shows a number too wide for its column (digits lost: never to be linked).
    text("register_float_nhs.csv", [R, f"{nhs(109)}.0,2023-01-05,A81001,home,Y,N",
                                    f"{nhs(110)},2023-01-06,A81001,home,Y,N",
                                    "9.43E+09,2023-01-07,A81001,home,Y,N"])
    # Spells from a warehouse that pseudonymised the NHS number before the extract
    # (SUS+ Der_Pseudo_NHS_Number): no modulus 11 check can pass.
    text("hes_pseudonymised.csv", [
        "Der_Pseudo_NHS_Number,ADMIDATE,DISDATE,ADMIMETH,TRETSPEF,SPELL_COST",
        "A1B2C3D4E5F6,2023-01-05,2023-01-06,21,300,100",
        "B2C3D4E5F6A1,2023-01-05,2023-01-07,2A,300,200",
        "A1B2C3D4E5F6,2023-01-09,NULL,11,300,NULL"])
    # A failed download saved under the extract's name, and Excel 2003's XML workbook.
    text("download_error_page.csv", ["<!DOCTYPE html>", "<html><head><title>Error 404 - "
                                     "Not Found</title></head><body>Not found</body></html>"])
    text("xml_spreadsheet.xls", [
        '<?xml version="1.0"?>', '<?mso-application progid="Excel.Sheet"?>',
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">', "</Workbook>"])
    # SQL Server's bcp -w: UTF-16 with no byte order mark (was "a binary file").
    text("bcp_utf16_no_bom.csv", [D, f"{nhs(111)},{OK}", f"{nhs(112)},{OK}"],
         "utf-16-le", end="\r\n")
    # Title rows, an empty line, then the header on row 3, Windows line ends: DuckDB's
    # skip miscounted CR LF and empty lines (the header was read as a data row).
    text("title_rows_crlf.csv", ["Deaths extract, March 2025", "", D, "P1," + OK, "",
                                 "P2," + OK[:-9]], end="\r\n")
    # SUS / HES null dates: 1800-01-01 not applicable or not known, 1801-01-01 invalid.
    text("hes_null_dates.csv", [HES, f"{nhs(113)},2023-01-05,1800-01-01,21,300,100",
                                f"{nhs(114)},2023-01-05,18010101,21,300,100",
                                f"{nhs(115)},1800-01-01,2023-01-07,21,300,100",
                                f"{nhs(116)},2023-01-05,2023-01-07,21,300,100"])
    # A register records "not known" for a flag: the entry still counts.
    text("register_flags_not_known.csv", [R, "L1,2023-01-05,A81001,home,Unknown,N/A",
                                          "L2,2023-01-06,A81001,home,Not known,Yes",
                                          "L3,2023-01-07,A81001,home,maybe,No"])
    # A title line opening a quote it never closes: the data would be one value.
    text("title_open_quote.csv", ['"Deaths extract, March 2025', "", D, "P1," + OK,
                                  "P2," + OK], end="\r\n")
    # Two monthly exports pasted together: the header again mid-file.
    text("header_repeated.csv", [D, "P1," + OK, D, "P2," + OK])
    # An export that starts with empty lines ("the file is empty (no header row)").
    text("leading_empty_lines.csv", ["", "", D, "P1," + OK, "P2," + OK[:-9]], end="\r\n")
    # European Excel's "sep=;" line above the header names the delimiter.
    text("sep_line.csv", ["sep=;", D.replace(",", ";"), "P1;" + OK.replace(",", ";"),
                          "P2;" + OK.replace(",", ";")[:-9]], "cp1252", end="\r\n")
    # Zip files that are not .xlsx workbooks: a download of zipped extracts, LibreOffice's
    # .ods, Excel's binary .xlsb (the parts that say what each is).
    for name, members in [
            ("zipped_extracts.zip", {"deaths_2023.csv": D + "\nP1," + OK + "\n"}),
            ("libreoffice.ods", {"mimetype": "application/vnd.oasis.opendocument.spreadsheet",
                                 "content.xml": "<office:document-content/>"}),
            ("binary_workbook.xlsb", {"[Content_Types].xml": "<Types/>",
                                      "xl/workbook.bin": "\x00\x01"})]:
        with zipfile.ZipFile(HERE / name, "w") as archive:
            for member, body in members.items():
                archive.writestr(zipfile.ZipInfo(member, (2025, 1, 1, 0, 0, 0)), body)
    # A local system's own identifiers, already pseudonymised, under a preset.
    text("hes_local_ids.csv", [
        "LOCAL_PATIENT_ID,ADMIDATE,DISDATE,ADMIMETH,TRETSPEF,SPELL_COST",
        "A1B2C3D4E5F6,2023-01-05,2023-01-06,21,300,100",
        "B2C3D4E5F6A1,2023-01-05,2023-01-07,2A,300,200",
        "A1B2C3D4E5F6,2023-01-09,NULL,11,300,NULL"])
    # An extract carrying more than the analysis needs: names, postcode, date of birth.
    # None of it may stay (the date of birth only gives the age).
    text("personal_columns.csv", [
        "person_id,forename,surname,postcode,date_of_birth,date_of_death,age,sex,lsoa_code,"
        "underlying_cause,place_of_death",
        f"{nhs(105)},Ada,Lovelace,SW1A 1AA,10/12/1915,05/01/2023,,F,E01000001,C34.9,Hospital",
        f"{nhs(106)},Alan,Turing,CB2 1TN,23/06/1912,06/01/2023,,M,E01000001,C34.9,Home",
        f"{nhs(107)},Grace,Hopper,N1 9GU,31/02/1906,07/01/2023,,F,E01000001,C34.9,Home",
        f"{nhs(108)},Mary,Seacole,E1 6AN,08/01/2023,07/01/2023,70,F,E01000001,C34.9,Home"])
    # A writer that records a stale used range (<dimension ref="A1:G2"/>) over a sheet of
    # five deaths, one with a note typed right of the table: openpyxl's read-only mode
    # stopped at row 2 and column G, so four deaths were silently lost.
    workbook("stale_dimension.xlsx", {"Deaths": [D.split(",")] + [
        [f"P{i}", f"0{i}/01/2023", 85, "F", "E01000001", "C34.9", "Home"]
        + (["see note"] if i == 3 else []) for i in range(1, 6)]})
    raw("stale_dimension.xlsx", rezip(
        (HERE / "stale_dimension.xlsx").read_bytes(), "xl/worksheets/sheet1.xml",
        lambda d: re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:G2"/>', d)))


if __name__ == "__main__":
    main()
