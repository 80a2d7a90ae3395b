"""examgen installs anywhere: the wheel (`pip install .`, what the CI workflow does) carries
the question bank and the LaTeX class, and an installed examgen builds and checks exams from a
folder that has nothing to do with the source checkout.

The wheel is built from a copy of the sources (never leaving build/ in the checkout), installed
with its dependencies into a fresh venv (from the package index pip is configured with), and run
with PYTHONPATH unset, so nothing can come from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import pdftotext

from examgen import ROOT

DATA = ("question_bank",)  # top-level folders of the repository shipped inside the package
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc")


def source_files(folder: str) -> list[str]:
    """Every file of a shipped folder of the checkout, relative to it (what the wheel must hold)."""
    root = ROOT / folder
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points Python at the checkout or another venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, **extra}


def run(cmd: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=clean_env(**env), timeout=timeout)
    assert res.returncode == 0, f"{' '.join(cmd)} -> exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def build_backend_present() -> bool:
    """Whether this venv can build the wheel itself (no isolated build env to set up)."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77  # pyproject's build-system requirement


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("wheel-src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("examgen", *DATA):
        shutil.copytree(ROOT / name, src / name, ignore=JUNK)
    dist = tmp_path_factory.mktemp("dist")
    isolation = ["--no-build-isolation"] if build_backend_present() else []
    run([sys.executable, "-m", "pip", "wheel", str(src), "-w", str(dist), "--no-deps", *isolation], cwd=src)
    (whl,) = dist.glob("examgen-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with the wheel and its dependencies; its bin/."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True, clear=True)
    run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=env_dir)
    return env_dir / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated folder (not the checkout, not the venv) to run the installed examgen in."""
    folder = tmp_path / "somewhere"
    folder.mkdir()
    return folder


def test_pyproject_lists_every_code_package() -> None:
    """The wheel's packages are listed by hand (package-dir maps the data folders into the
    package): a new subpackage of examgen/ must be added there, or the wheel lacks it."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    code = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "examgen").rglob("__init__.py")}
    assert set(conf["packages"]) == code | {f"examgen.{d}" for d in DATA}
    assert conf["package-dir"] == {f"examgen.{d}": d for d in DATA}


def test_wheel_holds_the_bank_and_the_class(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in DATA:
        expected = source_files(folder)
        assert expected, folder
        missing = [f for f in expected if f"examgen/{folder}/{f}" not in names]
        assert not missing, f"not in the wheel: {missing[:5]}"
        shipped = sorted(n.removeprefix(f"examgen/{folder}/") for n in names if n.startswith(f"examgen/{folder}/"))
        assert shipped == expected  # nothing else (no __pycache__, no build leftovers)
    classes = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examgen" / "layouts").rglob("*.cls"))
    assert classes == ["examgen/layouts/plain/examgenplain.cls", "examgen/layouts/tum/examgentum.cls"]
    assert set(classes) <= names  # every layout's class files ship in its folder
    assert "examgen/question_bank/normalization/batchnorm_forward/question.yaml" in names
    assert "examgen/question_bank/mc/cnn.yaml" in names
    assert "examgen/schemas/answers-v2.schema.json" in names  # the answers.json schema ships with the package
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"examgen"}


def test_installed_examgen_is_the_venvs(installed: Path, elsewhere: Path) -> None:
    code = ("import examgen, examgen.layouts as lay, examgen.bank as b\n"
            "print(examgen.__file__); print(lay.get('tum').classes[0]); print(b.BANK_DIR)")
    out = run([str(installed / "python"), "-c", code], cwd=elsewhere).stdout.split("\n")
    site = installed.parent.resolve()
    module, cls, bank = (Path(line).resolve() for line in out[:3])
    for path in (module, cls, bank):
        assert path.is_relative_to(site) and not path.is_relative_to(ROOT.resolve()), path
    assert cls.name == "examgentum.cls" and cls.parent == module.parent / "layouts" / "tum"
    assert bank == module.parent / "question_bank"


@pytest.mark.pdf
def test_build_from_an_unrelated_folder(installed: Path, elsewhere: Path, tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (make setup)")
    shutil.copy2(ROOT / "exams" / "quiz.yaml", elsewhere / "quiz.yaml")
    res = run([str(installed / "examgen"), "build", "quiz.yaml", "-n", "1", "-o", "out"], cwd=elsewhere,
              EXAMGEN_CACHE=str(tmp_path / "cache"))  # a cache of its own: the installed class really compiles
    assert res.stdout.startswith("build: 8 files written to out in "), res.stdout
    for name in ("E0001/student.pdf", "E0001/solution.pdf", "E0001/answers.json", "E0001/layout.json",
                 "answer_key.csv", "manifest.json", "print/all-students.pdf", "print/all-solutions.pdf"):
        assert (elsewhere / "out" / name).is_file(), name
    course = yaml.safe_load((ROOT / "exams" / "quiz.yaml").read_text())["exam"]["course"]
    assert course in pdftotext(elsewhere / "out" / "E0001" / "student.pdf")


@pytest.mark.pdf
def test_check_from_an_unrelated_folder(installed: Path, elsewhere: Path, tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (make setup)")
    res = run([str(installed / "examgen"), "check", "--draws", "5", "--compile", "1"], cwd=elsewhere,
              EXAMGEN_CACHE=str(tmp_path / "cache"))
    templates = len(list((ROOT / "question_bank").rglob("question.yaml")))
    assert f"checked {templates} templates x 5 draws" in res.stdout and "all passed" in res.stdout, res.stdout
    assert list(elsewhere.iterdir()) == []  # check writes nothing


def test_package_files_are_those_importlib_resources_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """resources.package_file and BANK_DIR take a plain package folder's files directly (importlib.resources
    is not imported on the CLI's early path); they are the files importlib.resources gives, and a zipped
    package still has its files extracted through it."""
    import importlib
    from importlib.resources import files

    from examgen import BANK_DIR, resources

    for package, name in [("examgen.layouts.tum", "examgentum.cls"), ("examgen.layouts.tum", "examgenfonts.sty"),
                          ("examgen.layouts.plain", "examgenplain.cls"), ("examgen", "schemas/answers-v2.schema.json")]:
        importlib.import_module(package)
        expected = Path(str(files(package) / name)).resolve()
        assert resources.package_file(package, name) == expected and expected.is_file()
    assert BANK_DIR == (ROOT / "question_bank").resolve() and (BANK_DIR / "mc").is_dir()
    zipped = tmp_path / "zipped.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("zippedpkg/__init__.py", "")
        z.writestr("zippedpkg/data.txt", "inside the zip\n")
    monkeypatch.syspath_prepend(str(zipped))
    importlib.import_module("zippedpkg")
    try:
        extracted = resources.package_file("zippedpkg", "data.txt")
        assert extracted.read_text() == "inside the zip\n" and zipped not in extracted.parents
    finally:
        sys.modules.pop("zippedpkg", None)
