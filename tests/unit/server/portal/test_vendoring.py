"""The vendored browser files are exactly what the npm lock pins, and the manifests say so."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from jitgate.server.portal.vendoring import ASSETS, MANIFEST, STATIC_VENDOR, vendored_files

TESTS_VENDOR = Path(__file__).parents[3] / "browser" / "vendor"
FOLDERS = {"static": STATIC_VENDOR, "tests": TESTS_VENDOR}


def _lock() -> dict:
    return json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))


def _pinned() -> dict[str, str]:
    return {
        path.removeprefix("node_modules/"): entry["version"]
        for path, entry in _lock()["packages"].items()
        if path.startswith("node_modules/")
    }


def test_the_lock_is_v3_with_an_integrity_hash_for_every_package():
    lock = _lock()
    assert lock["lockfileVersion"] == 3
    packages = {p: e for p, e in lock["packages"].items() if p}
    assert set(packages) == {
        "node_modules/htmx.org",
        "node_modules/@picocss/pico",
        "node_modules/axe-core",
    }
    for entry in packages.values():
        algorithm, digest = entry["integrity"].split("-", 1)
        assert algorithm == "sha512"
        assert len(base64.b64decode(digest)) == 64


def test_package_json_pins_exact_versions_that_the_lock_resolves():
    package = json.loads((ASSETS / "package.json").read_text(encoding="utf-8"))
    wanted = {**package["dependencies"], **package["devDependencies"]}
    assert wanted == _pinned()  # exact versions (npm install --save-exact), no ranges
    assert wanted["htmx.org"].startswith("2.0.")  # the 2.0 line (see portal.vendoring)
    assert wanted["@picocss/pico"] == "2.1.1"


def test_each_manifest_lists_its_files_with_the_locked_version_and_their_hash():
    pinned = _pinned()
    listed: dict[str, dict] = {}
    for folder in FOLDERS.values():
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        for entry in manifest["files"]:
            path = folder / entry["file"]
            assert entry["version"] == pinned[entry["package"]], entry
            assert entry["version"] in entry["file"]  # the name carries the version
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], entry
            listed[entry["file"]] = entry
        on_disk = {p.name for p in folder.iterdir() if p.name != MANIFEST}
        assert on_disk == {e["file"] for e in manifest["files"]}, folder  # nothing unlisted
    expected = {spec.name: spec for spec in vendored_files(pinned)}
    assert set(listed) == set(expected)
    for name, spec in expected.items():
        assert listed[name]["package"] == spec.package
        assert listed[name]["source"] == spec.source
