"""The wheel carries queries/, report_templates/ and sample_data/ and works outside the repo.

Builds a wheel from this checkout, installs it into a brand-new venv in a temporary folder
(outside the repository) and runs `eolneeds assess` there from yet another folder, so the
package data must come from the installed wheel, not from the working tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (found,) = dist.glob("eolneeds-*.whl")
    return found


def test_wheel_contains_the_package_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("eolneeds/queries/") and n.endswith(".sql") for n in names)
    assert any(n.startswith("eolneeds/report_templates/") and n.endswith(".j2") for n in names)
    assert any(n.startswith("eolneeds/sample_data/") and n.endswith("eolneeds.toml") for n in names)
    assert any(n.startswith("eolneeds/reference/") for n in names)
    # The test suite and the benchmark are not part of the product.
    assert not any(n.startswith("tests/") or n.startswith("bench/") for n in names)


@pytest.mark.slow
def test_installed_wheel_assesses_the_bundled_sample_from_another_folder(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "clean-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(bindir / "eolneeds"), "assess", "--out", "out"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = {p.name for p in (elsewhere / "out").iterdir()}
    assert {"report.html", "pack-icb.xlsx", "indicators.csv", "manifest.json"} <= written
