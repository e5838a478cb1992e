"""The documentation stays true to the code."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_generated_from_the_current_cli():
    from defnlp.cli.docs import cli_reference

    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference() + "\n", (
        "docs/cli.md is stale: run `defnlp docs --output docs/cli.md`"
    )


def test_readme_has_exactly_the_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Set-up (two commands)", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci


def test_docs_links_resolve():
    import re

    for md in list((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (md.parent / target).exists(), f"{md.name} links to missing {target}"
