"""The loaded bank kept in the cache between runs (bank._Stored, issue 18: the bank's YAML parsed
and validated again cost a quarter of a second before a build's first TeX run): a build with
unchanged files reads it instead of loading, gets the same templates and pool, and any change
(a template, a pool, an extra bank, a damaged record) is loaded and validated as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from examgen import BANK_DIR, ROOT, bank
from examgen.cli import main
from examgen.errors import TemplateError
from examgen.spec import load_spec
from examgen.uptodate import tree_digest

QUIZ = ROOT / "exams" / "quiz.yaml"
ENDTERM = ROOT / "exams" / "in2346-endterm.yaml"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test's own; the process's loaded banks forgotten before and after."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    bank._load_bank.cache_clear()
    yield tmp_path / "cache"
    bank._load_bank.cache_clear()


def _no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading YAML for the bank fails from now on: what is still loaded came from the store."""
    def refuse(path: Path) -> None:
        raise AssertionError(f"{path} was loaded again")

    monkeypatch.setattr(bank, "_load_template", refuse)
    monkeypatch.setattr(bank, "_load_mc", refuse)


def test_an_unchanged_bank_is_read_from_the_store_and_is_the_same(cache: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tree_digest(())
    fresh = bank.load_bank()  # (no tree: loaded as always, nothing stored)
    spec = load_spec(ENDTERM, fresh)
    assert not (cache / "bank").exists()
    first = bank.load_bank((), tree)
    load_spec(ENDTERM, first)  # the spec's templates are loaded, and stored
    stored = {p.name for p in (cache / "bank").glob("*/*.pickle")}
    assert {"bank.pickle", "template-bce_loss.pickle", "template-cnn_shapes.pickle"} <= stored
    assert "template-class_imbalance.pickle" not in stored  # (the endterm does not name it)
    bank._load_bank.cache_clear()  # as the next process
    _no_loading(monkeypatch)
    again = bank.load_bank((), tree)
    assert again.mc == fresh.mc and list(again.mc) == list(fresh.mc)
    assert set(again.templates) == set(fresh.templates)
    reloaded = load_spec(ENDTERM, again)
    assert reloaded == spec
    for tid in ("bce_loss", "batchnorm_forward", "cnn_shapes"):
        assert again.templates[tid] == fresh.templates[tid]
    with pytest.raises(AssertionError, match="was loaded again"):  # a template not stored yet is loaded
        again.templates["class_imbalance"]


def test_a_changed_template_is_loaded_and_validated_again(cache: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    shutil.copytree(BANK_DIR / "data" / "class_imbalance", mine / "data" / "my_imbalance")
    q = mine / "data" / "my_imbalance" / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", "id: my_imbalance"))
    good = bank.load_bank([mine], tree_digest([mine])).templates["my_imbalance"]
    assert good.title
    q.write_text(q.read_text().replace("title:", "titel:", 1))  # the same size class of edit, now invalid
    bank._load_bank.cache_clear()
    with pytest.raises(TemplateError, match=r"question.yaml:\d+:\d+: .*titel"):
        bank.load_bank([mine], tree_digest([mine])).templates["my_imbalance"]


def test_a_damaged_record_is_loaded_again_and_written_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tree_digest(())
    bank.load_bank((), tree).templates["bce_loss"]
    (record,) = (cache / "bank").glob("*/template-bce_loss.pickle")
    whole = record.read_bytes()
    record.write_bytes(whole[: len(whole) // 2])  # a truncated pickle
    (pool,) = (cache / "bank").glob("*/bank.pickle")
    pool.write_bytes(b"not a pickle")
    bank._load_bank.cache_clear()
    loaded: list[str] = []
    real = bank._load_template
    monkeypatch.setattr(bank, "_load_template", lambda f: loaded.append(f.parent.name) or real(f))
    again = bank.load_bank((), tree)
    assert again.templates["bce_loss"] == real(next(BANK_DIR.rglob("bce_loss/question.yaml")))
    assert loaded == ["bce_loss"]
    assert record.read_bytes() == whole  # written again, whole


def test_without_a_cache_nothing_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMGEN_CACHE", "off")
    bank._load_bank.cache_clear()
    try:
        assert bank.load_bank((), tree_digest(())).templates["bce_loss"].id == "bce_loss"
    finally:
        bank._load_bank.cache_clear()
    assert not list(tmp_path.iterdir())


def test_a_build_reads_the_stored_bank(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI passes its tree digest: the second build of the quiz loads no YAML of the bank."""
    assert main(["build", str(QUIZ), "-n", "1", "-o", str(tmp_path / "one")]) == 0
    first = (tmp_path / "one" / "E0001" / "answers.json").read_bytes()
    bank._load_bank.cache_clear()
    _no_loading(monkeypatch)
    assert main(["build", str(QUIZ), "-n", "1", "-o", str(tmp_path / "two")]) == 0, \
        capsys.readouterr().err
    assert (tmp_path / "two" / "E0001" / "answers.json").read_bytes() == first
