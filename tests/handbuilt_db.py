"""A tiny canonical database built by hand, for known-answer tests of the queries and
assess. Every person is crafted to hit an edge of a definition; the expected counts are
worked out in the tests beside each assertion.

Financial year 2024-25 (2024-04-01 .. 2025-03-31) holds A, B, C and D:

A  died 2024-06-30 (90-day window starts 2024-04-02), 80, female, L1 (P1, decile 1 ->
   quintile 1), C349 cancer, in hospital. Register entry 2024-06-15 preferring home
   (15 days before death: late; preference not achieved). Activity: emergency 21 on
   day 90 (2024-04-02, day case); emergency 22 on day 91 (2024-04-01, not counted);
   elective stay 2024-03-25..2024-04-05 straddling the window start (4 inclusive days in
   the window, 3 nights); emergency 2B 2024-06-01..06-10 (10 days, 9 nights); emergency
   21 2024-06-20 day case, no cost; A&E 2024-06-01 cost 100; specialist palliative
   contact 2023-07-02 (day 365 of the last year: counted).
B  died 2024-09-10, 70, male, L2 (P1, decile 10 -> quintile 5), I500 heart failure, at
   home. Register 2024-01-01 preferring hospital, 2024-05-01 preferring home (latest:
   achieved); 253 days on the register. Three emergency admissions without admission
   method (activity_type decides) on 08-01, 08-15, 09-01, day cases; community contact
   09-01; specialist palliative contact 2023-09-10 (day 366: not counted).
C  died 2024-12-01, 90, female, L3 (P2, decile 5 -> quintile 3), X59 external cause,
   contributory C61, in a care home. Register entry 2024-12-05: after death, ignored.
D  died 2025-03-31, 50, unknown sex, L3, F03 dementia, religious establishment.
   Register entry 2025-03-01 with no preference: 30 days before death (late).
E  died 2024-05-01 in LSOA LXX (not in areas): excluded.   F  no LSOA: excluded.
G  died 2023-05-01 (previous financial year), L1, I64 stroke, hospital.
Z  did not die: two community contacts on the activity extract's first and last days.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from eolneeds.config import Place, ProjectConfig
from eolneeds.db import connect
from eolneeds.schema import create_schema

D = date


def handbuilt_config(root: Path, **overrides) -> ProjectConfig:
    return ProjectConfig(
        root=root, icb_name="Test ICB", icb_code="QXX",
        places=(Place("P1", "Alpha"), Place("P2", "Beta")), **overrides,
    )


DEATHS = [
    # person, dod, age, sex, lsoa, cause, contributory, place_of_death
    ("A", D(2024, 6, 30), 80, "female", "L1", "C349", None, "hospital"),
    ("B", D(2024, 9, 10), 70, "male", "L2", "I500", None, "home"),
    ("C", D(2024, 12, 1), 90, "female", "L3", "X59", ["C61"], "care_home"),
    ("D", D(2025, 3, 31), 50, "unknown", "L3", "F03", None, "religious"),
    ("E", D(2024, 5, 1), 60, "male", "LXX", "C50", None, "home"),
    ("F", D(2024, 5, 1), 60, "male", None, "C50", None, "home"),
    ("G", D(2023, 5, 1), 85, "male", "L1", "I64", None, "hospital"),
]
REGISTER = [
    ("A", D(2024, 6, 15), "home"),
    ("B", D(2024, 1, 1), "hospital"),
    ("B", D(2024, 5, 1), "home"),
    ("C", D(2024, 12, 5), "home"),
    ("D", D(2025, 3, 1), None),
]
ACTIVITY = [
    # person, type, start, end, admission_method, treatment_function, cost
    ("A", "emergency_admission", D(2024, 4, 2), D(2024, 4, 2), "21", None, 1000.0),
    ("A", "emergency_admission", D(2024, 4, 1), D(2024, 4, 1), "22", None, 500.0),
    ("A", "elective_admission", D(2024, 3, 25), D(2024, 4, 5), "11", None, None),
    ("A", "emergency_admission", D(2024, 6, 1), D(2024, 6, 10), "2B", None, 2000.0),
    ("A", "emergency_admission", D(2024, 6, 20), D(2024, 6, 20), "21", None, None),
    ("A", "ae_attendance", D(2024, 6, 1), None, None, None, 100.0),
    ("A", "specialist_palliative_contact", D(2023, 7, 2), None, None, None, None),
    ("B", "emergency_admission", D(2024, 8, 1), D(2024, 8, 1), None, None, None),
    ("B", "emergency_admission", D(2024, 8, 15), D(2024, 8, 15), None, None, None),
    ("B", "emergency_admission", D(2024, 9, 1), D(2024, 9, 1), None, None, None),
    ("B", "community_contact", D(2024, 9, 1), None, None, None, None),
    ("B", "specialist_palliative_contact", D(2023, 9, 10), None, None, None, None),
    # Z (no death): the activity extract's first and last days, so that it covers both
    # financial years with their look-back (eolneeds.coverage); linked to no death.
    ("Z", "community_contact", D(2022, 4, 1), None, None, None, None),
    ("Z", "community_contact", D(2025, 3, 31), None, None, None, None),
]
AREAS = [("L1", "P1", 1), ("L2", "P1", 10), ("L3", "P2", 5)]


def build_handbuilt_db(path: Path) -> Path:
    con = connect(path)
    try:
        create_schema(con)
        for i, (pid, dod, age, sex, lsoa, cause, contrib, pod) in enumerate(DEATHS, start=2):
            con.execute(
                "INSERT INTO deaths (person_id, date_of_death, age, sex, lsoa_code, "
                "underlying_cause, contributory_causes, place_of_death, source_file_id, "
                "source_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                [pid, dod, age, sex, lsoa, cause, contrib, pod, i],
            )
        for i, (pid, added, pref) in enumerate(REGISTER, start=2):
            con.execute(
                "INSERT INTO register (person_id, date_added, preferred_place_of_death, "
                "source_file_id, source_row) VALUES (?, ?, ?, 2, ?)", [pid, added, pref, i],
            )
        for i, row in enumerate(ACTIVITY, start=2):
            con.execute(
                "INSERT INTO activity (person_id, activity_type, start_date, end_date, "
                "admission_method, treatment_function, cost, source_file_id, source_row) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 3, ?)", [*row, i],
            )
        for i, (lsoa, place, decile) in enumerate(AREAS, start=2):
            con.execute(
                "INSERT INTO areas (lsoa_code, place, imd_decile, source_file_id, source_row) "
                "VALUES (?, ?, ?, 4, ?)", [lsoa, place, decile, i],
            )
        # 1,000 people per LSOA, sex and band 75-79 / 80-84 in 2024 (and 2022 for the
        # nearest-year rule); projections double the 2024 population in 2030.
        row = 2
        for year in (2022, 2024):
            for lsoa, _, _ in AREAS:
                for sex in ("male", "female"):
                    for band in ("75-79", "80-84"):
                        con.execute(
                            "INSERT INTO population VALUES (?, ?, ?, ?, 1000.0, 5, ?)",
                            [lsoa, year, sex, band, row],
                        )
                        row += 1
        for place in ("P1", "P2"):
            for year in (2024, 2030):
                for sex in ("male", "female"):
                    for band in ("75-79", "80-84"):
                        con.execute(
                            "INSERT INTO projections VALUES (?, ?, ?, ?, ?, 6, ?)",
                            [place, year, sex, band, 2000.0 * (2 if year == 2030 else 1)
                             if place == "P1" else 1000.0 * (2 if year == 2030 else 1), row],
                        )
                        row += 1
    finally:
        con.close()
    return path


# ---------------------------------------------------------------------------------------
# Practices and PCNs (issue 13): a second hand-built database, larger so that most
# practices survive disclosure control. Every death is a need death (C349) on
# 2024-10-01 (financial year 2024-25).
#
# practice  PCN (current)  LSOA  need deaths  on register before death   first entry
# A1        U00001         L1    40           30 (12 with a later ACP)   100 days before
# A2        U00001         L2    40           10                         10 days (late)
# B1        U00002         L3    20           15 (one death has no       60 days
#                                            practice: its entry's, B1)
# B2        U00002 (was    L3    20           10                         200 days
#           U00001 to 2023)
# C1        not in lookup  L3    9            0
# (none)    -              L1    1            0
# A1 and A2 also have two deaths each without need (K35), one of them on the register
# (100 and 10 days before death).
#
# Register flags: A1's 30 first entries (100 days before) record a DNACPR decision for
# 20 and a preferred place for all 30; 12 of A1's people have a second entry 40 days
# before death recording an advance care plan. Other entries record nothing.
PRACTICE_DEATHS = [
    # practice on the death, LSOA, deaths, registered, days before death of first entry
    ("A1", "L1", 40, 30, 100),
    ("A2", "L2", 40, 10, 10),
    ("B1", "L3", 19, 14, 60),
    ("B2", "L3", 20, 10, 200),
    ("C1", "L3", 9, 0, 0),
    (None, "L1", 1, 0, 0),
]
PRACTICE_LOOKUP = [
    # practice, name, pcn, pcn name, start, end
    ("A1", "Alder Surgery", "U00001", "North PCN", D(2019, 7, 1), None),
    ("A2", "Ash Practice", "U00001", "North PCN", D(2019, 7, 1), None),
    ("B1", "Birch Health Centre", "U00002", "South PCN", D(2019, 7, 1), None),
    ("B2", "Beech Medical", "U00001", "North PCN", D(2019, 7, 1), D(2023, 3, 31)),
    ("B2", "Beech Medical", "U00002", "South PCN", D(2023, 4, 1), None),
]
PRACTICE_DOD = D(2024, 10, 1)


def build_practice_db(path: Path) -> Path:
    from datetime import timedelta

    con = connect(path)
    try:
        create_schema(con)
        row = 2
        deaths, register = [], []
        for practice, lsoa, count, registered, days in PRACTICE_DEATHS:
            for i in range(count):
                pid = f"{practice or 'X'}-{i:03d}"
                deaths.append((pid, PRACTICE_DOD, 80, "female", lsoa, "C349", "hospital",
                               practice, row))
                row += 1
                if i < registered:
                    added = PRACTICE_DOD - timedelta(days=days)
                    dnacpr = practice == "A1" and i < 20
                    pref = "home" if practice == "A1" else None
                    register.append((pid, added, practice, pref, dnacpr, False))
                    if practice == "A1" and i < 12:
                        register.append((pid, PRACTICE_DOD - timedelta(days=40), practice,
                                         None, False, True))
        for practice, lsoa, days in (("A1", "L1", 100), ("A2", "L2", 10)):
            for i in range(2):
                pid = f"{practice}-other-{i}"
                deaths.append((pid, PRACTICE_DOD, 70, "male", lsoa, "K35", "home", practice,
                               row))
                row += 1
                if i == 0:
                    register.append((pid, PRACTICE_DOD - timedelta(days=days), practice, None,
                                     False, False))
        # The death with no practice of B1's: on the register at B1, 60 days before.
        deaths.append(("B1-nopractice", PRACTICE_DOD, 80, "female", "L3", "C349", "hospital",
                       None, row))
        register.append(("B1-nopractice", PRACTICE_DOD - timedelta(days=60), "B1", None,
                         False, False))
        con.executemany(
            "INSERT INTO deaths (person_id, date_of_death, age, sex, lsoa_code, "
            "underlying_cause, place_of_death, gp_practice, source_file_id, source_row) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)", deaths)
        con.executemany(
            "INSERT INTO register (person_id, date_added, gp_practice, preferred_place_of_death,"
            " dnacpr, advance_care_plan, source_file_id, source_row) "
            "VALUES (?, ?, ?, ?, ?, ?, 2, ?)",
            [(*r, i) for i, r in enumerate(register, start=2)])
        con.executemany(
            "INSERT INTO practices (practice_code, practice_name, pcn_code, pcn_name, "
            "start_date, end_date, source_file_id, source_row) VALUES (?, ?, ?, ?, ?, ?, 5, ?)",
            [(*r, i) for i, r in enumerate(PRACTICE_LOOKUP, start=2)])
        for i, (lsoa, place, decile) in enumerate(AREAS, start=2):
            con.execute(
                "INSERT INTO areas (lsoa_code, place, imd_decile, source_file_id, source_row) "
                "VALUES (?, ?, ?, 4, ?)", [lsoa, place, decile, i])
        for i, lsoa in enumerate(("L1", "L2", "L3"), start=2):
            con.execute("INSERT INTO population VALUES (?, 2024, 'female', '80-84', 5000.0, "
                        "5, ?)", [lsoa, i])
    finally:
        con.close()
    return path
