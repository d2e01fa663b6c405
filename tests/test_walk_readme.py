"""scripts/walk_readme.py reads the README's commands as a newcomer would type them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "walk_readme.py"


def _walker():
    spec = importlib.util.spec_from_file_location("walk_readme", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_commands_in_order_with_continuations_and_documented_errors():
    text = "\n".join([
        "intro", "```bash", "growgan a --x 1   # a comment", "", "# a comment line", "growgan b \\",
        "    --y 2 \\", "    --z 3", "```", "```python", "print('not a command')", "```", "```bash",
        "growgan c --bad", "# growgan: error: c: bad; the fix", "cat > f.json <<'JSON'", "{\"a\": 1,", "",
        " \"b\": 2}", "JSON", "growgan d --config f.json", "```",
    ])
    assert _walker().readme_commands(text) == [
        (3, "growgan a --x 1   # a comment", None),
        (6, "growgan b --y 2 --z 3", None),
        (14, "growgan c --bad", "growgan: error: c: bad; the fix"),
        (16, "cat > f.json <<'JSON'\n{\"a\": 1,\n\n \"b\": 2}\nJSON", None),
        (21, "growgan d --config f.json", None),
    ]


def test_the_readme_has_no_placeholder_commands():
    """Every README command is runnable as written: no RUN_DIR / ARCHIVE placeholders."""
    readme = (SCRIPT.parents[1] / "README.md").read_text(encoding="utf-8")
    for no, cmd, _ in _walker().readme_commands(readme):
        assert not any(word in cmd.split() for word in ("RUN_DIR", "ARCHIVE", "RUN_DIR_OR_CHECKPOINT")), (no, cmd)
