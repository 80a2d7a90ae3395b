"""The command line: JSON of `solve`, `list`, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.cli import main

GOOD = (ROOT / "exams" / "quiz.yaml").read_text()


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "examgen.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_solve_prints_key_as_json() -> None:
    res = run("solve", "rnn_relu_scalar", "--seed", "5")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["id"] == "rnn_relu_scalar"
    assert set(data["params"]) == {"u", "w", "v", "h0", "x", "relu_grad_at_zero"}
    assert isinstance(data["answers"]["h"], list) and isinstance(data["answers"]["dy_du"], (int, float))
    assert sum(r["points"] for r in data["rubric"]) == 6
    assert data["seed"]["entropy"] == 5


def test_solve_with_params_file_pins_by_catalogue_name(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("u: 3\nw: 2\nv: -1\nh0: 3\nx: [1, 2]\n")  # seed 001 P10b
    res = run("solve", "rnn_relu_scalar", "--params", str(f))
    data = json.loads(res.stdout)
    assert data["answers"]["h"] == [11, 37] and data["answers"]["y_T"] == -37 and data["answers"]["dy_du"] == -20


def test_solve_partially_pinned_samples_the_rest(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("gamma: [1, 1]\n")
    data = json.loads(run("solve", "batchnorm_forward", "--params", str(f), "--seed", "3").stdout)
    assert data["params"]["gamma"] == [1, 1] and len(data["params"]["z"][0]) == 2


def test_list_json_has_catalogue_ids() -> None:
    data = json.loads(run("list", "--json").stdout)
    ids = {t["id"] for t in data["templates"]}
    assert {"batchnorm_forward", "cnn_shapes", "rnn_relu_scalar"} <= ids
    bn = next(t for t in data["templates"] if t["id"] == "batchnorm_forward")
    assert bn["params"][:3] == ["z", "gamma", "beta"] and bn["credits"] == 6
    assert data["mc_items"] >= 8


def error_line(spec_text: str, tmp_path: Path, name: str = "bad.yaml") -> tuple[int, str, Path]:
    spec = tmp_path / name
    spec.write_text(spec_text)
    out = tmp_path / "out"
    res = run("build", str(spec), "--out", str(out))
    assert "Traceback" not in res.stderr
    assert not out.exists(), "a failed build must not leave output behind"
    return res.returncode, res.stderr.strip(), spec


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    code, err, spec = error_line(GOOD.replace("  code: IN2346", "  code: [IN2346"), tmp_path)
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"examgen: error: {spec}:") and "YAML syntax error" in err


def test_unknown_template_suggests_close_match(tmp_path: Path) -> None:
    code, err, spec = error_line(GOOD.replace("from: [batchnorm_forward,", "from: [batchnorm_fwd,"), tmp_path)
    assert code == 2 and len(err.splitlines()) == 1
    line = next(i for i, s in enumerate(spec.read_text().splitlines(), 1) if "batchnorm_fwd" in s)
    assert f"{spec}:{line}:" in err
    assert "unknown template 'batchnorm_fwd'; did you mean 'batchnorm_forward'?" in err


def test_wrong_type_names_key_path(tmp_path: Path) -> None:
    code, err, spec = error_line(GOOD.replace("mc: {count: 3,", "mc: {count: three,"), tmp_path)
    assert code == 2 and len(err.splitlines()) == 1
    assert "problems[0].mc.count: found 'three', expected integer" in err
    assert f"{spec}:" in err


def test_unknown_key_suggests(tmp_path: Path) -> None:
    code, err, _ = error_line(GOOD.replace("  examiner:", "  examinr:"), tmp_path)
    assert code == 2
    assert "unknown key 'examinr'; did you mean 'examiner'?" in err


def test_bad_pinned_param_in_spec(tmp_path: Path) -> None:
    text = GOOD.replace("  - choose:", "  - template: batchnorm_forward\n    params: {gama: [1, 2]}\n  - choose:")
    code, err, _ = error_line(text, tmp_path)
    assert code == 2 and "parameter 'gama': unknown parameter; did you mean 'gamma'?" in err


def test_missing_spec_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"examgen: error: {tmp_path / 'nope.yaml'}: file not found"


def test_unknown_template_on_solve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "cnn_shape"]) == 2
    assert "unknown template 'cnn_shape'; did you mean 'cnn_shapes'?" in capsys.readouterr().err


def test_preview_writes_one_question_pdf(tmp_path: Path) -> None:
    out = tmp_path / "prev.pdf"
    assert main(["preview", "cnn_shapes", "--seed", "2", "--solution", "--out", str(out)]) == 0
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "Problem 1 Convolutional Neural Networks (9 credits)" in text
    assert "Grading notes" in text


def test_bank_option_adds_an_instructors_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    src = ROOT / "question_bank" / "normalization" / "batchnorm_forward"
    dst = tmp_path / "mybank" / "norm" / "my_batchnorm"
    shutil.copytree(src, dst)
    q = dst / "question.yaml"
    q.write_text(q.read_text().replace("id: batchnorm_forward", "id: my_batchnorm"))
    assert main(["list", "--json", "--bank", str(tmp_path / "mybank")]) == 0
    ids = {t["id"] for t in json.loads(capsys.readouterr().out)["templates"]}
    assert {"my_batchnorm", "batchnorm_forward"} <= ids
    assert main(["solve", "my_batchnorm", "--seed", "1", "--bank", str(tmp_path / "mybank")]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "my_batchnorm"
    # the same id twice is refused, naming both files
    q.write_text(q.read_text().replace("id: my_batchnorm", "id: batchnorm_forward"))
    (dst.parent / "batchnorm_forward").mkdir()
    for f in dst.iterdir():
        shutil.copy(f, dst.parent / "batchnorm_forward" / f.name)
    shutil.rmtree(dst)
    assert main(["list", "--bank", str(tmp_path / "mybank")]) == 2
    err = capsys.readouterr().err
    assert "template id 'batchnorm_forward' is already defined in" in err and len(err.splitlines()) == 1


def test_credit_override_scales_parts_and_rubric(tmp_path: Path) -> None:
    from examgen.bank import load_bank
    from examgen.questions import build_variant
    from examgen.spec import load_spec

    spec = tmp_path / "s.yaml"
    spec.write_text(GOOD.replace("  - choose:\n      k: 1\n      from: [batchnorm_forward, rnn_relu_scalar]\n",
                                 "  - template: batchnorm_forward\n    credits: 12\n"))
    bank = load_bank()
    v = build_variant(load_spec(spec, bank), bank, 1, 1)
    q = v.questions[1]
    assert [p.credits for p in q.parts] == [2, 7, 3] and q.credits == 12 and v.credits == 18
    assert sum(r["points"] for r in q.rubric) == 12
    assert [r["points"] for r in q.rubric if r["part"] == "b"] == [1, 2, 4]


def test_credit_override_that_splits_halves_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("  - choose:\n      k: 1\n      from: [batchnorm_forward, rnn_relu_scalar]\n",
                        "  - template: batchnorm_forward\n    credits: 7\n")
    code, err, spec = error_line(text, tmp_path)
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{spec}:" in err and "problems[1].credits" in err and "not a multiple of 0.5" in err


def test_latex_error_names_variant_problem_and_template(tmp_path: Path) -> None:
    import shutil

    dst = tmp_path / "bank" / "data" / "broken_question"
    shutil.copytree(ROOT / "question_bank" / "data" / "class_imbalance", dst)
    q = dst / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", "id: broken_question"))
    st = dst / "statement.tex.j2"
    st.write_text(st.read_text().replace("Name two possible solutions.", r"Name two \nosuchmacro solutions."))
    spec = tmp_path / "s.yaml"
    spec.write_text(GOOD.replace("  - choose:", "  - template: broken_question\n  - choose:"))
    out = tmp_path / "out"
    res = run("build", str(spec), "--out", str(out), "--bank", str(tmp_path / "bank"))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    err = res.stderr.strip()
    assert err.startswith("examgen: error: variant E0001 (student): LaTeX error: Undefined control sequence.")
    assert "in problem 2 (template broken_question)" in err and "nosuchmacro" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.tmp-*")), "staging folder left behind"
