"""The README documents the module as it is: a test fails when it drifts from the code."""

from __future__ import annotations

from tools import gen_readme, tfeval

README = tfeval.REPO / "README.md"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_inputs_and_outputs_tables_match_the_code() -> None:
    assert gen_readme.current_section(readme()) == gen_readme.render(), (
        "README.md drifted from variables.tf/outputs.tf: run `make readme`"
    )


def test_tables_list_every_variable_and_output_terraform_sees() -> None:
    parsed = tfeval.load(tfeval.REPO)
    variables = {b["__tfmeta"]["label"] for b in tfeval.find_all(parsed, "variable.")}
    outputs = {b["__tfmeta"]["label"] for b in tfeval.find_all(parsed, "output.")}
    section = gen_readme.current_section(readme()) or ""
    assert variables == {v.name for v in gen_readme.read_variables(tfeval.REPO)}
    assert outputs == {o.name for o in gen_readme.read_outputs(tfeval.REPO)}
    for name in variables | outputs:
        assert f"| `{name}` |" in section


def test_drift_is_detected() -> None:
    text = readme()
    edited = text.replace("| `retention_days` | ", "| `retention_days` | Old words. ", 1)
    assert edited != text
    assert gen_readme.update(edited, gen_readme.render()) == text
    assert gen_readme.main(["--check"]) == 0


def test_defaults_and_required_inputs_are_rendered() -> None:
    section = gen_readme.render()
    assert "| `schedule_expression` |" in section
    assert '`"rate(1 day)"` | no |' in section
    assert "| `table_names` |" in section
    assert "`list(string)` | `[]` | no |" in section
    assert "`null` | no |" in section  # kms_key_arn


def test_readme_opens_with_the_title_and_the_two_commands() -> None:
    lines = readme().splitlines()
    assert lines[0] == "# terraform-aws-dynamodb-backup"
    head = "\n".join(lines[:8])
    assert "make demo" in head
    assert "make test" in head
    assert "```mermaid" in readme()
    assert 'module "dynamodb_backup"' in readme()
