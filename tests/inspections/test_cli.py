"""The CLI against the test database (read-only commands, so the shared database stays as it is)."""
import json


def test_rules_show_and_load_unchanged(app):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["inspections", "rules", "show"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["rules"]["gas_cylinder.lpg"]["max_life_years"] == 12
    loaded = runner.invoke(args=["inspections", "rules", "load"])
    assert loaded.exit_code == 0 and "unchanged" in loaded.output
