"""docs/use-in-your-project.md shows code that runs: each block marked ``<!-- from: path -->`` is found verbatim in
that file (the example project's tests), each marked ``<!-- file: path -->`` is that whole file."""

from __future__ import annotations

import re

import pytest
from harness_projects import REPO

GUIDE = REPO / "docs" / "use-in-your-project.md"
README = REPO / "README.md"
MARKED = re.compile(r"<!-- (from|file): (\S+) -->\n```python\n(.*?)```", re.S)


def marked_blocks() -> list[tuple[str, str, str]]:
    """The marked code blocks of the guide and of the README's "Use it in your project" section."""
    text = GUIDE.read_text() + README.read_text()
    return [(kind, path, code) for kind, path, code in MARKED.findall(text)]


def test_the_guide_shows_the_example_projects_tests_and_the_whole_pattern():
    blocks = marked_blocks()

    assert sum(kind == "from" for kind, _, _ in blocks) >= 5
    assert ("file", "docs/examples/queue_worker.py") in {(kind, path) for kind, path, _ in blocks}


@pytest.mark.parametrize(("kind", "path", "code"), marked_blocks(), ids=lambda value: str(value)[:40])
def test_a_marked_block_is_the_code_it_names(kind: str, path: str, code: str):
    source = (REPO / path).read_text()

    if kind == "file":
        assert code == source, f"the guide's copy of {path} differs from the file"
    else:
        assert code in source, f"the guide's block is not (or no longer) in {path}:\n{code}"
