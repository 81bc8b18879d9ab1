"""Which practices and PCNs a Place shows, the same in the report and the Place's pack.

One rule (practice.place_members: the practices whose deaths mostly lived in the Place)
decides which practices a Place's report section lists, counts as hidden or plots, and
which its pack's Practices sheet holds; the PCNs sheet of a Place's pack says how many
of each PCN's practices are in the Place as well as in the whole PCN.

Known answers from the hand-built practice database (tests/handbuilt_db.py) with one
practice added here: D1, in North PCN (U00001) with A1 and A2, but whose 12 deaths all
lived in L3 (Place P2, 'Beta'). So North PCN has 3 practices, 2 in Alpha (A1, A2) and 1
in Beta (D1). The one death with no practice lived in L1 (Alpha); it is the ICB's row
('unknown'), in no Place."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook


@pytest.fixture(scope="module")
def place_outputs(tmp_path_factory):
    from eolneeds.assess import AssessOptions, assess_project
    from eolneeds.config import DisclosureConfig
    from eolneeds.db import connect
    from eolneeds.reporting import Reporter
    from tests.handbuilt_db import PRACTICE_DOD, build_practice_db, handbuilt_config

    root = tmp_path_factory.mktemp("place_practices")
    out = {}
    for label, disclosure in (("open", DisclosureConfig(min_count=0)),
                              ("controlled", DisclosureConfig())):
        (root / label).mkdir()
        config = handbuilt_config(root / label, disclosure=disclosure)
        build_practice_db(config.database_path)
        con = connect(config.database_path)
        try:
            con.execute("INSERT INTO practices (practice_code, practice_name, pcn_code, "
                        "pcn_name, start_date, end_date, source_file_id, source_row) VALUES "
                        "('D1', 'Dogwood Surgery', 'U00001', 'North PCN', ?, NULL, 5, 90)",
                        [date(2019, 7, 1)])
            con.executemany(
                "INSERT INTO deaths (person_id, date_of_death, age, sex, lsoa_code, "
                "underlying_cause, place_of_death, gp_practice, source_file_id, source_row) "
                "VALUES (?, ?, 80, 'female', 'L3', 'C349', 'hospital', 'D1', 1, ?)",
                [(f"D1-{i:03d}", PRACTICE_DOD, 900 + i) for i in range(12)])
            con.executemany(
                "INSERT INTO register (person_id, date_added, gp_practice, dnacpr, "
                "advance_care_plan, source_file_id, source_row) "
                "VALUES (?, ?, 'D1', false, false, 2, ?)",
                [(f"D1-{i:03d}", PRACTICE_DOD - timedelta(days=90), 900 + i)
                 for i in range(9)])
        finally:
            con.close()
        result = assess_project(config, AssessOptions(formats=["html", "xlsx"],
                                                      out=root / label / "out",
                                                      per_place=True), reporter=Reporter())
        out[label] = result
    return out


def _sheet(path, name: str) -> tuple[list[str], list[list]]:
    wb = load_workbook(path, read_only=True)
    try:
        rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()
    top = next(i for i, r in enumerate(rows) if r and r[0] in ("Practice code", "PCN code"))
    header = [str(h) for h in rows[top] if h is not None]
    return header, [r[:len(header)] for r in rows[top + 1:] if r and r[0] is not None]


def _place_section(report: str, code: str, following: str) -> str:
    start = report.index(f'id="place-{code}"')
    end = report.index(f'id="{following}"')
    return re.sub(r"\s+", " ", report[start:end])


@pytest.mark.parametrize("label", ["open", "controlled"])
def test_report_and_pack_show_the_same_practices_for_each_place(place_outputs,
                                                                label) -> None:
    """Each Place's report section and its pack list, plot and count as hidden the
    same practices: Alpha A1 and A2; Beta B1, B2, C1 and D1. The death with no known
    practice, which lived in Alpha, is the ICB's: neither Alpha's report section nor
    its pack speaks of it."""
    result = place_outputs[label]
    report = (result.out_dir / "report.html").read_text(encoding="utf-8")
    own = {"p1": {"A1", "A2"}, "p2": {"B1", "B2", "C1", "D1"}}
    for code, following in (("p1", "place-p2"), ("p2", "inequalities")):
        header, rows = _sheet(result.out_dir / f"pack-{code}.xlsx", "Practices")
        pack = {r[0] for r in rows}
        assert pack == own[code], (label, code)
        where = header.index("Position against the ICB")
        pack_hidden = sum(1 for r in rows if str(r[where]).startswith("not shown"))
        section = _place_section(report, code, following)
        # The practices the section names in its practice tables and funnel data.
        named = set(re.findall(r'<th scope="row">([A-D][12])\b', section))
        assert named <= own[code], (label, code, named)
        assert "no known practice" not in section, (label, code)
        said = re.search(r"(\d+) practices? not shown \(disclosure control\)", section)
        assert (int(said.group(1)) if said else 0) == pack_hidden, (label, code)
        if label == "open":
            # Nothing hidden: every practice of the Place is in the report's funnel data.
            assert named == own[code], (label, code)


def test_place_pack_pcns_sheet_counts_the_places_practices(place_outputs) -> None:
    """North PCN holds 3 practices (A1, A2, D1): Alpha's pack says 2 of them are in
    Alpha, Beta's 1 in Beta, each beside the PCN's 3; the ICB pack the PCN's 3. The
    sheet says that its figures are the whole PCN's."""
    out = place_outputs["open"].out_dir
    header, rows = _sheet(out / "pack-icb.xlsx", "PCNs")
    by_code = {r[0]: r for r in rows}
    assert by_code["U00001"][header.index("Practices in the PCN (count)")] == 3
    assert by_code["U00002"][header.index("Practices in the PCN (count)")] == 2
    for code, name, in_place in (("p1", "Alpha", {"U00001": 2}),
                                 ("p2", "Beta", {"U00001": 1, "U00002": 2})):
        path = out / f"pack-{code}.xlsx"
        header, rows = _sheet(path, "PCNs")
        by_code = {r[0]: r for r in rows}
        assert set(in_place) <= set(by_code)
        whole = header.index("Practices in the PCN (count)")
        here = header.index(f"Practices in {name} (count)")
        for pcn, count in in_place.items():
            assert by_code[pcn][here] == count, (code, pcn)
        assert by_code["U00001"][whole] == 3, code
        wb = load_workbook(path, read_only=True)
        try:
            text = " ".join(str(v) for r in wb["PCNs"].iter_rows(values_only=True)
                            for v in r if isinstance(v, str))
        finally:
            wb.close()
        assert f"the whole PCN's, {name}'s practices and the rest" in html.unescape(text)
