"""The portal's third-party browser files: which npm package each comes from, and its manifest.

The files are pinned in ``portal/assets/package.json`` and ``package-lock.json`` (npm, exact
versions, integrity hashes) and copied by ``make assets`` (``npm ci``, then
``python -m jitgate.server.portal.vendoring``) into ``portal/static/vendor/`` and, for the
browser tests' axe-core, ``tests/browser/vendor/``. The copies are committed: installing and
running jitgate never needs npm or a network, and no page loads anything from a CDN. Each copy's
name carries its version, so the server may let browsers cache it for a year.

Each folder has a ``MANIFEST.json`` listing every file with its package, version and sha256;
``tests/unit/server/portal/test_vendoring.py`` checks it against the lock and the files.

Versions, and why:

* **htmx.org 2.0.x** (the 2.0 line, 2.0.11): the stable, documented line: htmx.org's docs,
  examples and extensions describe 2.x. The 4.x line (npm's ``latest``) changed defaults and
  attribute semantics against 2.x and its documentation is still catching up; the portal uses
  only core attributes (``hx-post``, ``hx-target``, ``hx-swap``, ``hx-headers``), which 2.x has
  documented for years. It runs under ``script-src 'self'`` with ``includeIndicatorStyles``,
  ``allowEval`` and ``allowScriptTags`` off (``templates/base.html``'s ``htmx-config``).
* **@picocss/pico 2.1.1**: small semantic-HTML CSS (MIT), styled without classes on most
  elements; the portal's own rules are in ``static/portal.css``.
* **axe-core 4.14.1** (devDependency, MPL-2.0): the accessibility checker the browser tests
  inject; never served by the server.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PORTAL = Path(__file__).parent
ASSETS = PORTAL / "assets"
STATIC_VENDOR = PORTAL / "static" / "vendor"
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True, slots=True)
class VendoredFile:
    """One file copied out of an npm package: ``source`` inside it, ``name`` once copied."""

    package: str
    source: str
    name: str
    folder: str = "static"  # "static": served; "tests": the browser tests only


def vendored_files(versions: dict[str, str]) -> list[VendoredFile]:
    """The files to copy, named with the versions the lock pins (``package -> version``)."""
    htmx, pico, axe = versions["htmx.org"], versions["@picocss/pico"], versions["axe-core"]
    return [
        VendoredFile("htmx.org", "dist/htmx.min.js", f"htmx-{htmx}.min.js"),
        VendoredFile("htmx.org", "LICENSE", f"htmx-{htmx}.LICENSE.txt"),
        VendoredFile("@picocss/pico", "css/pico.min.css", f"pico-{pico}.min.css"),
        VendoredFile("@picocss/pico", "LICENSE.md", f"pico-{pico}.LICENSE.txt"),
        VendoredFile("axe-core", "axe.min.js", f"axe-core-{axe}.min.js", folder="tests"),
        VendoredFile("axe-core", "LICENSE", f"axe-core-{axe}.LICENSE.txt", folder="tests"),
    ]


def locked_versions(lock: Path) -> dict[str, str]:
    """The version of each top-level package in an npm ``package-lock.json`` (v3)."""
    packages = json.loads(lock.read_text(encoding="utf-8"))["packages"]
    prefix = "node_modules/"
    return {
        path.removeprefix(prefix): entry["version"]
        for path, entry in packages.items()
        if path.startswith(prefix) and "/node_modules/" not in path
    }


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_vendored(*, assets: Path, targets: dict[str, Path]) -> None:
    """Copy every vendored file out of ``assets/node_modules`` and write each folder's manifest."""
    versions = locked_versions(assets / "package-lock.json")
    manifests: dict[str, list[dict[str, str]]] = {folder: [] for folder in targets}
    for spec in vendored_files(versions):
        target = targets[spec.folder]
        target.mkdir(parents=True, exist_ok=True)
        copied = target / spec.name
        shutil.copyfile(assets / "node_modules" / spec.package / spec.source, copied)
        manifests[spec.folder].append(
            {
                "file": spec.name,
                "package": spec.package,
                "version": versions[spec.package],
                "source": spec.source,
                "sha256": sha256_of(copied),
            }
        )
    for folder, entries in manifests.items():
        text = json.dumps({"files": entries}, indent=2) + "\n"
        (targets[folder] / MANIFEST).write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    """``python -m jitgate.server.portal.vendoring TESTS_VENDOR_DIR``: copy and list the files."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m jitgate.server.portal.vendoring TESTS_VENDOR_DIR\n")
        return 2
    copy_vendored(assets=ASSETS, targets={"static": STATIC_VENDOR, "tests": Path(argv[0])})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
