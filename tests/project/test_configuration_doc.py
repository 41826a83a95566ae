"""docs/configuration.md documents every DENEX_ variable, generated from service/settings.py
(`make docs`), and neither README nor a document in docs/ names a variable the node does not
read."""

import re
from pathlib import Path

from service import settings_doc
from service.settings import RETIRED, Settings
from tests.project.lockfiles import ROOT

CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_every_setting_has_a_description() -> None:
    assert settings_doc.missing_descriptions() == []


def test_the_configuration_document_is_generated_from_the_settings() -> None:
    current = CONFIGURATION.read_text(encoding="utf-8")
    assert settings_doc.with_reference(current) == current, "run `make docs`"
    for name in Settings.model_fields:
        assert f"| `DENEX_{name.upper()}` |" in current


def test_the_documents_name_only_variables_the_node_reads() -> None:
    # and the retired ones, which documents name to say that a node refuses them
    known = {settings_doc.variable(name) for name in Settings.model_fields} | set(RETIRED)
    # docs/decisions/ is history: a record may name a variable that is gone
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {
        (path.relative_to(ROOT).as_posix(), variable)
        for path in documents
        for variable in re.findall(r"DENEX_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8"))
    }
    assert sorted((where, v) for where, v in named if v not in known) == []


def test_the_check_fails_on_a_stale_table_and_make_docs_repairs_it(tmp_path: Path) -> None:
    copy = tmp_path / "configuration.md"
    current = CONFIGURATION.read_text(encoding="utf-8")
    copy.write_text(current.replace("Seconds between sync rounds", "Minutes between"), "utf-8")
    assert settings_doc.main(["--check", str(copy)]) == 1
    assert settings_doc.main([str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == current
    assert settings_doc.main(["--check", str(copy)]) == 0


def test_a_document_without_the_markers_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "configuration.md"
    copy.write_text("# Configuration\n", encoding="utf-8")
    assert settings_doc.main([str(copy)]) == 1
    assert copy.read_text(encoding="utf-8") == "# Configuration\n"
