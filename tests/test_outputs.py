"""Atomic writes and the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from eolneeds.config import load_config
from eolneeds.outputs import (
    atomic_output,
    atomic_write_text,
    build_manifest,
    disclosure_rule_text,
    query_hashes,
    write_manifest,
)
from eolneeds.schema import create_schema


def _project(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "Test ICB"\nicb_code = "QXX"\n'
        '[[places]]\ncode = "P1"\nname = "Northtown"\n' + extra,
        encoding="utf-8",
    )
    return root


def test_atomic_output_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent
        assert not target.exists()  # nothing visible until complete
        tmp.write_text("done", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "done"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_atomic_output_failure_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "indicators.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("killed half-way")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["indicators.csv"]


def test_atomic_write_text_uses_lf_and_utf8(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "£1\nline")
    assert target.read_bytes() == "£1\nline".encode()


def test_manifest_records_inputs_queries_and_rule_but_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", "super-secret-key-value")
    root = _project(tmp_path)
    config = load_config(root)
    con = duckdb.connect(str(config.database_path))
    try:
        create_schema(con)
        con.execute(
            # Columns named: ingest_log gains columns (mapping_hash) without breaking this.
            "INSERT INTO ingest_log (file_id, dataset, file_name, file_path, content_hash,"
            " mapping, encoding, rows_read, rows_loaded, rows_rejected, started_at,"
            " finished_at, replaced_by) VALUES (1, 'deaths', 'deaths.csv', '/x/deaths.csv',"
            " 'abc', 'deaths', 'utf-8', 10, 9, 1, TIMESTAMP '2026-01-01 10:00:00',"
            " TIMESTAMP '2026-01-01 10:00:01', NULL)"
        )
        manifest = build_manifest(config, con, outputs=["report.html", "indicators.csv"])
    finally:
        con.close()
    assert manifest["inputs"][0]["file_name"] == "deaths.csv"
    assert manifest["inputs"][0]["rows_read"] == 10
    assert manifest["outputs"] == ["indicators.csv", "report.html"]
    assert manifest["software"]["duckdb"]
    assert manifest["queries"] == query_hashes()
    assert "1 to 7" in manifest["disclosure"]["rule"]
    path = tmp_path / "manifest.json"
    write_manifest(path, manifest)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text)["project"]["icb_name"] == "Test ICB"
    assert "super-secret-key-value" not in text


def test_disclosure_rule_text_when_off(tmp_path: Path) -> None:
    root = _project(tmp_path, "[disclosure]\nmin_count = 0\n")
    assert "OFF" in disclosure_rule_text(load_config(root))
