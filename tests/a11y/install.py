"""Install the packages pinned in package-lock.json into node_modules/, as
`npm ci --prefix tests/a11y` does, without Node or npm: axe-core runs inside Chromium,
so CI needs only its files. Debian's npm package alone brings about 370 packages
(45 MB download, 415 MB installed), more than Chromium and LibreOffice together.

Each tarball comes from the npm registry (or the lockfile's `resolved` URL) and is
checked against the lockfile's `integrity` hash before anything is written; a mismatch
stops with exit 1 and node_modules/ untouched.

    python3 tests/a11y/install.py
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGISTRY = "https://registry.npmjs.org"


def _tarball_url(name: str, entry: dict) -> str:
    if entry.get("resolved"):
        return str(entry["resolved"])
    return f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{entry['version']}.tgz"


def _verified(data: bytes, integrity: str, url: str) -> None:
    """Raise SystemExit unless `data` matches one of the lockfile's SRI hashes."""
    for sri in integrity.split():
        algorithm, _, digest = sri.partition("-")
        if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest:
            return
    raise SystemExit(f"{url}: does not match package-lock.json's integrity {integrity}")


def install(entry_key: str, entry: dict) -> None:
    name = entry_key.removeprefix("node_modules/")
    if "node_modules/" in name:
        raise SystemExit(f"{entry_key}: nested packages are not handled here; use npm ci")
    url = _tarball_url(name, entry)
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    _verified(data, entry["integrity"], url)
    target = HERE / entry_key
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = []
        for member in tar.getmembers():
            # An npm tarball holds one top folder (usually package/): strip it.
            _, _, inside = member.name.partition("/")
            if not inside:
                continue
            if ".." in Path(inside).parts or not (member.isfile() or member.isdir()):
                raise SystemExit(f"{url}: unexpected entry {member.name!r}")
            member.name = inside
            members.append(member)
        # tarfile's own "data" filter where this Python has it (3.11.4+, 3.12)
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(target, members=members, **safe)
    print(f"{name} {entry['version']} -> {target.relative_to(HERE)}")


def main() -> None:
    lock = json.loads((HERE / "package-lock.json").read_text(encoding="utf-8"))
    for key, entry in lock["packages"].items():
        if key:  # "" is this folder's own package.json
            install(key, entry)


if __name__ == "__main__":
    sys.exit(main())
