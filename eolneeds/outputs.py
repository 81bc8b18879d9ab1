"""Writing outputs safely: atomic files and the run manifest.

Every output is written to a temporary name in the same folder and renamed into place
only when complete, so a reader (or a killed run) never sees a half-written file:
os.replace is atomic on POSIX and Windows when source and target share a volume.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from eolneeds import __version__
from eolneeds.config import CONFIG_FILE, ProjectConfig
from eolneeds.db import naming_the_file
from eolneeds.resources import queries_dir

_VERSIONED_PACKAGES = (
    "duckdb", "polars", "pyarrow", "numpy", "scipy", "openpyxl", "jinja2",
    "typer", "rich",
)


def temp_name(path: Path) -> Path:
    """A hidden sibling name that cannot clash with another writer."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _fsync_file(path: Path) -> None:
    # Flush file contents to disk before the rename, so a power cut cannot leave the
    # new name pointing at empty data.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to `path`, on failure remove it.

        with atomic_output(out / "report.html") as tmp:
            tmp.write_text(html, encoding="utf-8")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        named = naming_the_file(exc, path)
        if named is not exc:
            raise named from exc
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with '\\n' line endings on every platform (reproducible bytes)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def software_versions() -> dict[str, str]:
    versions = {"eolneeds": __version__, "python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def query_hashes() -> dict[str, str]:
    """sha256 of every shipped query, so a reader can tell exactly which SQL ran."""
    hashes: dict[str, str] = {}
    for entry in sorted(queries_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            hashes[entry.name] = hashlib.sha256(entry.read_bytes()).hexdigest()
    return hashes


#: Datasets whose rows are people's records: a file's rows of them are counts of people.
PEOPLE_DATASETS = ("deaths", "register", "activity")
#: A file's counts of records withheld in the manifest (the GSS shorthand for confidential).
WITHHELD = "[c]"
FILE_COUNTS = ("rows_read", "rows_loaded", "rows_rejected")


def _inputs(con: Any, min_count: int = 0) -> list[dict[str, Any]]:
    """The files loaded, with their counts of rows; with disclosure control on
    (`min_count`), the counts of 1 to min_count - 1 are withheld ([c]) as the published
    files table withholds them, and a file of people's records with a small count read,
    loaded or quarantined has all three withheld: a file of late registrations with 1 row
    read said that one death was registered late, its dates in the coverage table when."""
    try:
        rows = con.execute(
            """
            SELECT file_id, dataset, file_name, content_hash, mapping, rows_read,
                   rows_loaded, rows_rejected, finished_at
            FROM ingest_log
            WHERE replaced_by IS NULL
            ORDER BY dataset, file_name, file_id
            """
        ).fetchall()
    except Exception:  # noqa: BLE001 - a database without ingest_log has no inputs
        return []
    names = ["file_id", "dataset", "file_name", "content_hash", "mapping", "rows_read",
             "rows_loaded", "rows_rejected", "ingested_at"]
    out = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        record["ingested_at"] = (
            record["ingested_at"].isoformat() if record["ingested_at"] is not None else None
        )
        # As the published files table (validate.protect_quality_tables): a small count
        # quarantined with the loaded rows that give it back; for a file of people's
        # records, a small count read or loaded with all three.
        small = {c for c in FILE_COUNTS
                 if record[c] is not None and 0 < record[c] < min_count}
        if record["dataset"] in PEOPLE_DATASETS and small & {"rows_read", "rows_loaded"}:
            record.update(dict.fromkeys(FILE_COUNTS, WITHHELD))
        elif "rows_rejected" in small:
            record.update(dict.fromkeys(("rows_loaded", "rows_rejected"), WITHHELD))
        out.append(record)
    return out


def _data_coverage(con: Any) -> dict[str, dict[str, str | None]]:
    """First and last date per dataset: the 'extract dates' readers need."""
    columns = {
        "deaths": "date_of_death",
        "register": "date_added",
        "activity": "start_date",
    }
    coverage: dict[str, dict[str, str | None]] = {}
    for table, column in columns.items():
        try:
            query = f"SELECT min({column}), max({column}) FROM {table}"
            first, last = con.execute(query).fetchone()
        except Exception:  # noqa: BLE001 - table not there yet
            continue
        coverage[table] = {
            "first": first.isoformat() if first else None,
            "last": last.isoformat() if last else None,
        }
    return coverage


def build_manifest(
    config: ProjectConfig,
    con: Any,
    *,
    outputs: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance of one assessment: inputs and their hashes, query hashes, the config,
    disclosure rule and software versions. Never contains the pseudonymisation key."""
    config_path = config.root / CONFIG_FILE
    config_hash = sha256_file(config_path) if config_path.is_file() else None
    manifest: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": software_versions(),
        "project": {
            "icb_name": config.icb_name,
            "icb_code": config.icb_code,
            "places": [{"code": p.code, "name": p.name} for p in config.places],
            "config_file": CONFIG_FILE,
            "config_sha256": config_hash,
            "lsoa_vintage": config.lsoa_vintage,
        },
        "disclosure": {
            "min_count": config.disclosure.min_count,
            "rounding": config.disclosure.rounding,
            "secondary": config.disclosure.secondary,
            "rule": disclosure_rule_text(config),
        },
        "methods": {
            "emergency_admission_methods": list(config.methods.emergency_admission_methods),
            "diupr_exclude_external_causes": config.methods.diupr_exclude_external_causes,
            "bed_days": config.methods.bed_days,
            "unit_cost_per_bed_day": config.methods.unit_cost_per_bed_day,
        },
        "inputs": _inputs(con, config.disclosure.min_count if config.disclosure.enabled else 0),
        "data_coverage": _data_coverage(con),
        "queries": query_hashes(),
        "outputs": sorted(outputs or []),
    }
    if extra:
        manifest.update(extra)
    return manifest


def disclosure_rule_text(config: ProjectConfig) -> str:
    """One sentence saying which small-number rule applied, for every output."""
    d = config.disclosure
    if not d.enabled:
        return "Disclosure control is OFF ([disclosure] min_count = 0): for internal use only."
    text = (
        f"Counts from 1 to {d.min_count - 1} are suppressed and shown as *; rates and "
        "percentages built on a suppressed count are suppressed too"
    )
    if d.secondary:
        text += "; a further cell is suppressed where a total would reveal a hidden one"
    if d.rounding:
        text += f"; other counts are rounded to the nearest {d.rounding}"
    return text + "."


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
