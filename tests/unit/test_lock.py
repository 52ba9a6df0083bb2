"""constraints.txt, the lock file: complete for the image, consistent, and what the tests run with.

The image installs the controller with ``--constraint constraints.txt``; an
unpinned runtime dependency would float to whatever is newest on the day the
image is built. ``make venv`` installs with the same file, so the versions
installed here (the ones the tests ran with) must be the pinned ones.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
HINT = "run `make lock` (then `make venv`) after changing dependencies"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z0-9-]+)==([A-Za-z0-9.+!-]+)", line)
        assert m, f"constraints.txt: not a canonical name==version line: {line!r}"
        assert m[1] not in pins, f"{m[1]} pinned twice"
        pins[m[1]] = m[2]
    return pins


def _runtime_closure(root: str) -> dict[str, list[Requirement]]:
    """Every distribution the controller needs at run time (no extras), with the requirements on it."""
    seen: dict[str, list[Requirement]] = {}
    todo = [root]
    while todo:
        dist = metadata.distribution(todo.pop())
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            name = canonicalize_name(req.name)
            if name not in seen:
                todo.append(name)
            seen.setdefault(name, []).append(req)
    return seen


def test_lock_file_is_sorted_and_canonical() -> None:
    names = list(_pins())
    assert names == sorted(names)
    assert not {"awspca-issuer", "awspca-emulator", "awspca-devstack"} & set(names)


def test_every_runtime_dependency_of_the_controller_is_pinned_within_its_range() -> None:
    pins = _pins()
    closure = _runtime_closure("awspca-issuer")
    assert "boto3" in closure
    assert "botocore" in closure  # transitive ones too
    unpinned = sorted(set(closure) - set(pins))
    assert not unpinned, f"not in constraints.txt: {unpinned}; {HINT}"
    for name, reqs in closure.items():
        for req in reqs:
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{name}=={pins[name]} does not satisfy {req}; {HINT}"
            )


def test_the_tests_run_with_the_locked_versions() -> None:
    pins = _pins()
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    differ = {
        name: (installed[name], pinned)
        for name, pinned in pins.items()
        if name in installed and installed[name] != pinned
    }
    assert not differ, f"installed vs locked: {differ}; run `make venv`"
    missing = sorted(n for n in _runtime_closure("awspca-issuer") if n not in installed)
    assert not missing
