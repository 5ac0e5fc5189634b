"""`python -m workbench dataset ...` and `eval ...`: a CI job gates a prompt change on them.
In-process through main(argv) on the scripted server; once on the built-in model (slow)."""

from __future__ import annotations

import pytest

from tests.scripted_openai import text
from workbench.cli.commands import main

CSV = "input,expected\nCapital of France?,Paris\nTwo plus two?,4\nColour of the sky?,blue\n"


def _eval(agent_id, *extra) -> list[str]:
    return ["eval", "--dataset", "Smoke", "--agent", str(agent_id), "--concurrency", "1", *extra]


def test_import_eval_and_fail_on_regression(scripted, tmp_path, capsys):
    path = tmp_path / "smoke.csv"
    path.write_text(CSV)
    assert main(["dataset", "import", "Smoke", str(path)]) == 0
    assert "3 cases" in capsys.readouterr().out
    scripted.server.script(text("It is Paris."), text("4"), text("Blue."))
    assert main(_eval(scripted.agent_id, "--fail-on-regression")) == 0
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1] == "passed 3/3 cases"
    baseline = int(out.split("experiment ")[1].split(" ")[0])

    scripted.server.script(text("It is Lyon."), text("4"), text("Blue."))  # case 1 regresses
    assert main(_eval(scripted.agent_id, "--baseline", str(baseline), "--fail-on-regression")) == 1
    out = capsys.readouterr().out
    assert "regressed" in out and "'Paris' is not in the reply" in out
    assert out.rstrip().splitlines()[-1] == "passed 2/3 cases"
    assert "1 regressed, 0 improved" in out

    scripted.server.script(text("It is Lyon."), text("4"), text("Blue."))
    assert main(_eval(scripted.agent_id, "--baseline", str(baseline))) == 0  # not asked to fail

    scripted.server.script(text("Paris"), text("4"), text("blue"))  # an improvement is not a regression
    assert main(_eval(scripted.agent_id, "--fail-on-regression")) == 0  # default baseline: the previous one
    out = capsys.readouterr().out
    assert "0 regressed, 1 improved" in out and out.rstrip().endswith("passed 3/3 cases")

    exported = tmp_path / "out.jsonl"
    assert main(["dataset", "export", "Smoke", str(exported)]) == 0
    assert exported.read_text().count("\n") == 3


def test_bad_input_from_the_terminal(scripted, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("input,expected\n,nothing\nok,fine\n")
    assert main(["dataset", "import", "Bad", str(bad)]) == 2
    assert "line 2: the input is empty" in capsys.readouterr().err
    assert main(["eval", "--dataset", "Nope", "--agent", str(scripted.agent_id)]) == 2
    assert "no test set named 'Nope'" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text(CSV)
    assert main(["dataset", "import", "Smoke", str(good)]) == 0
    assert main(["eval", "--dataset", "Smoke", "--agent", "424242"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", "--dataset", "Smoke", "--agent", "x@y"]) == 2


@pytest.mark.slow
def test_builtin_model_evaluates_a_csv_offline(wb, tmp_path, capsys, request):
    """The demo agent on the built-in model: 3 short cases, small max tokens."""
    from workbench import agents
    from workbench.providers import embedded_server

    # Leave no warm server behind: the small model's answers to later tests depend on what
    # its slots cached (test_local_model expects a fresh one, as when it runs alone).
    request.addfinalizer(embedded_server.shutdown)
    agents.update_agent(wb.person_id, wb.agent_id, max_output_tokens=24, temperature=0.0)
    path = tmp_path / "smoke.csv"
    path.write_text("input,expected\nWhat is the capital of France? One word.,Paris\n"
                    "What is 2+2? Answer with a number.,4\nSay hello.,\n")
    assert main(["dataset", "import", "Smoke", str(path)]) == 0
    code = main(["eval", "--dataset", "Smoke", "--agent", str(wb.agent_id)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(complete)" in out and out.rstrip().splitlines()[-1].startswith("passed ")
    assert out.rstrip().endswith("/3 cases")
