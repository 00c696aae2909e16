"""The README stays true: its table docs equal the schemas, and CI runs its test command."""

from __future__ import annotations

import re

from conftest import REPO
from pipeline.schemas import markdown

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_table_exactly_as_the_schemas_do():
    block = re.search(r"<!-- tables:start.*?-->\n(.*)<!-- tables:end -->", README, re.DOTALL)
    assert block, "README has no generated tables block"
    assert block.group(1) == markdown(), "README tables are stale: paste `python -m pipeline.schemas`"


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.DOTALL)
    test_cmd = next(c for c in commands if "pytest" in c)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci.splitlines()
