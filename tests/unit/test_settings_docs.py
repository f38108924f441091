"""The README's configuration table lists every variable the settings read, with its
default: a setting added without its row fails here, naming the row to add."""

from __future__ import annotations

import re
from pathlib import Path

from healthstack.settings import environment_variables

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(HEALTHSTACK_[A-Z0-9_]+)` \| `([^`]*)` \|", re.MULTILINE)
# Variables read outside the settings classes (os.environ), documented in the table too.
READ_DIRECTLY = re.compile(r"""environ(?:\.get)?[\[(]\s*["'](HEALTHSTACK_[A-Z0-9_]+)["']""")


def readme_table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return dict(ROW.findall(section))


def read_directly() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src" / "healthstack").rglob("*.py"):
        names.update(READ_DIRECTLY.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_setting_has_its_row_with_its_default():
    table = readme_table()
    missing = [
        f"| `{name}` | `{default}` | <what it does> |"
        for name, default in environment_variables()
        if name not in table
    ]
    assert not missing, (
        "README.md's configuration table lacks these settings; add the rows:\n" + "\n".join(missing)
    )
    wrong = [
        f"{name}: the README says `{table[name]}`, the settings `{default}`"
        for name, default in environment_variables()
        if table[name] != default
    ]
    assert not wrong, "README.md's configuration table has stale defaults:\n" + "\n".join(wrong)


def test_every_row_names_a_variable_that_is_read():
    known = {name for name, _ in environment_variables()} | read_directly()
    stale = sorted(set(readme_table()) - known)
    assert not stale, f"README.md documents variables nothing reads: {', '.join(stale)}"


def test_the_nested_sections_are_listed():
    names = {name for name, _ in environment_variables()}
    for prefix in ("OTP", "ABHA", "GATEWAY", "ABDM", "CONSENT"):
        assert any(n.startswith(f"HEALTHSTACK_{prefix}_") for n in names), prefix
    assert "HEALTHSTACK_MIGRATIONS" in read_directly()
