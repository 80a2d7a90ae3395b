"""Issue 12: the compile cache heals itself (every entry verified on read, a damaged
one discarded and built anew, never shipped), an unusable cache folder is one warning
and a build without it, a pdflatex timeout kills everything TeX started and stops the
build at once, and print files are joined in chunks (bounded memory)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import error_lines, pages_text, pdftotext
from faults import Row, run_row, session_procs, snapshot

from examgen import ROOT
from examgen.cli import main
from examgen.writers import pdf

pytestmark = pytest.mark.pdf

QUIZ = ROOT / "exams" / "quiz.yaml"
WARNING = "examgen: warning: compile cache {path} is not usable ({reason}); building without it"


def _build(out: Path, cache: Path | str, *extra: str) -> subprocess.CompletedProcess[str]:
    """examgen build of the quiz (2 variants) in a new process (its own jinja2 environment)."""
    env = dict(os.environ, EXAMGEN_CACHE=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "examgen", "build", str(QUIZ), "-n", "2", "-o", str(out), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def clean_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quiz built without any cache."""
    out = tmp_path_factory.mktemp("clean") / "out"
    proc = _build(out, "off", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def clean(clean_out: Path) -> dict[str, str]:
    """What every healed build must equal, byte for byte."""
    return snapshot(clean_out)


def _pdfs(out: Path) -> dict[str, str]:
    return {k: v for k, v in snapshot(out).items() if k.endswith(".pdf")}


def _clean_pdfs(clean: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in clean.items() if k.endswith(".pdf")}


def _ok(proc: subprocess.CompletedProcess[str], hits: int, misses: int) -> None:
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc.stderr) == [], proc.stderr
    assert f"compile cache: {hits} hits, {misses} misses" in proc.stdout, proc.stdout


def _entries(cache: Path, kind: str) -> list[Path]:
    return sorted(p for p in (cache / kind).iterdir() if not p.name.startswith("."))


def _all_verified(cache: Path) -> None:
    """Every entry of the cache holds exactly the files its entry.json names, with those hashes."""
    for kind in ("pdf", "pages", "formats", "marks"):
        for entry in _entries(cache, kind):
            files = json.loads((entry / "entry.json").read_text())["files"]
            assert sorted(os.listdir(entry)) == sorted([*files, "entry.json"])
            for name, digest in files.items():
                assert hashlib.sha256((entry / name).read_bytes()).hexdigest() == digest


def test_damaged_scan_codes_are_encoded_anew_not_typeset(tmp_path: Path, clean: dict[str, str]) -> None:
    """The scan codes a batch typesets are cached (encoding them delays its TeX run); an entry
    whose codes were changed (E0002's filed as E0001's) is refused and the codes encoded anew:
    the PDFs are those of a clean build, and every page's code names its own variant."""
    cache = tmp_path / "cache"
    _ok(_build(tmp_path / "o1", cache), 0, 2)
    # a lane a variant (lanes(2)), both versions sharing the codes: those of the guessed total (8 pages)
    # and those of the total found (4), which the next build guesses and reads
    texts = {e: (e / "qr.tex").read_text() for e in _entries(cache, "marks")}
    found = {code: [e for e, t in texts.items() if f"{{{code}-1}}" in t and f"{{{code}-5}}" not in t]
             for code in ("E0001", "E0002")}
    assert len(texts) == 4 and all(len(entries) == 1 for entries in found.values())
    (first,), (second,) = found["E0001"], found["E0002"]
    (first / "qr.tex").write_text(texts[second].replace("E0002-", "E0001-"))  # E0002's symbols as E0001's
    shutil.rmtree(cache / "pdf")  # the batches are typeset again, with the codes from the cache
    proc = _build(tmp_path / "o2", cache)
    _ok(proc, 0, 2)
    assert _pdfs(tmp_path / "o2") == _clean_pdfs(clean)
    _all_verified(cache)


def test_swapped_pdfs_are_rebuilt_not_shipped(tmp_path: Path, clean: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    _ok(_build(tmp_path / "o1", cache), 0, 2)
    entries = _entries(cache, "pdf")
    assert len(entries) == 2  # a lane a variant (lanes(2)), each both versions
    for e in entries:  # each variant's solution filed as its student version and back
        (student,), (solution,) = e.glob("E*-student.pdf"), e.glob("E*-solution.pdf")
        a, b = student.read_bytes(), solution.read_bytes()
        student.write_bytes(b)
        solution.write_bytes(a)
    proc = _build(tmp_path / "o2", cache)
    _ok(proc, 0, 2)  # both entries discarded: misses
    assert _pdfs(tmp_path / "o2") == _clean_pdfs(clean)
    text = pdftotext(tmp_path / "o2" / "E0001" / "student.pdf")
    assert "E0001" in text and "Grading notes" not in text
    _ok(_build(tmp_path / "o3", cache), 2, 0)  # healed: the entries were stored anew
    _all_verified(cache)


def test_flipped_bytes_in_a_cached_pdf(tmp_path: Path, clean: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    _ok(_build(tmp_path / "o1", cache), 0, 2)
    for e in _entries(cache, "pdf"):
        (pdf,) = e.glob("E*-student.pdf")
        data = bytearray(pdf.read_bytes())
        for i in range(len(data) // 2, len(data) // 2 + 16):
            data[i] ^= 0xFF
        pdf.write_bytes(bytes(data))
    _ok(_build(tmp_path / "o2", cache), 0, 2)
    assert _pdfs(tmp_path / "o2") == _clean_pdfs(clean)
    _ok(_build(tmp_path / "o3", cache), 2, 0)


def _rehash(entry: Path, name: str) -> None:
    """Make entry.json agree with the file again (damage the hash check cannot see)."""
    record = json.loads((entry / "entry.json").read_text())
    record["files"][name] = hashlib.sha256((entry / name).read_bytes()).hexdigest()
    (entry / "entry.json").write_text(json.dumps(record))


@pytest.mark.parametrize("damage", ["garbage", "wrong types", "wrong types, hash updated", "record missing",
                                    "record garbage", "extra file"])
def test_corrupt_page_counts(damage: str, tmp_path: Path, clean: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    _ok(_build(tmp_path / "o1", cache), 0, 2)
    for e in _entries(cache, "pages"):
        if damage == "garbage":
            (e / "pages.json").write_bytes(b"\x00\xff{not json")
        elif damage.startswith("wrong types"):
            (e / "pages.json").write_text(json.dumps({"E0001": "twelve", "E0002": [8]}))
            if damage.endswith("hash updated"):
                _rehash(e, "pages.json")
        elif damage == "record missing":
            (e / "entry.json").unlink()
        elif damage == "record garbage":
            (e / "entry.json").write_text("[1, 2")
        else:
            (e / "stray.pdf").write_bytes(b"%PDF")
    for run in ("o2", "o3"):  # this run heals the entry, and the next one is fine too
        proc = _build(tmp_path / run, cache)
        assert proc.returncode == 0 and error_lines(proc.stderr) == [], proc.stderr
        assert _pdfs(tmp_path / run) == _clean_pdfs(clean)
    _all_verified(cache)
    for e in _entries(cache, "pages"):
        assert all(type(n) is int for n in json.loads((e / "pages.json").read_text()).values())


@pytest.mark.parametrize("damage", ["truncated", "one byte changed"])
def test_damaged_format(damage: str, tmp_path: Path, clean: dict[str, str]) -> None:
    """The format in the cache is damaged after a build that remembered the page total: the next
    build's opening runs start on it while it is verified (Compiler._early_format), are ended unused,
    and the format is made again."""
    cache = tmp_path / "cache"
    _ok(_build(tmp_path / "o1", cache), 0, 2)
    assert _entries(cache, "totals")  # (the total is remembered: the next build starts its opening runs early)
    for e in _entries(cache, "formats"):
        (fmt,) = e.glob("*.fmt")
        data = fmt.read_bytes()
        half = len(data) // 2
        changed = data[:half] + bytes([data[half] ^ 1]) + data[half + 1:]
        fmt.write_bytes(data[:half] if damage == "truncated" else changed)
    for run in ("o2", "o3"):
        proc = _build(tmp_path / run, cache)
        assert proc.returncode == 0 and error_lines(proc.stderr) == [], proc.stderr
        assert _pdfs(tmp_path / run) == _clean_pdfs(clean)
    _all_verified(cache)


def test_corrupt_jinja_bytecode(tmp_path: Path, clean: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    _ok(_build(tmp_path / "o1", cache), 0, 2)
    files = sorted((cache / "jinja2").glob("*.cache"))
    assert files
    for i, f in enumerate(files):  # flipped bytes, truncated, garbage
        data = bytearray(f.read_bytes())
        if i % 3 == 0:
            data[len(data) // 2] ^= 0xFF
            f.write_bytes(bytes(data))
        elif i % 3 == 1:
            f.write_bytes(bytes(data[: len(data) // 3]))
        else:
            f.write_bytes(b"j2\x00garbage")
    for run in ("o2", "o3"):
        proc = _build(tmp_path / run, cache)
        assert proc.returncode == 0 and error_lines(proc.stderr) == [], proc.stderr
        assert snapshot(tmp_path / run).keys() == clean.keys()
        assert _pdfs(tmp_path / run) == _clean_pdfs(clean)
    for f in sorted((cache / "jinja2").glob("*.cache")):  # every file written anew, with its hash
        data = f.read_bytes()
        assert hashlib.sha256(data[32:]).digest() == data[:32]


# ------------------------------------------------------------------ an unusable cache folder
def _build_here(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Build in this process; the output must be complete; returns stderr's lines."""
    code = main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    assert sorted(snapshot(tmp_path / "out")) == ["E0001/answers.json", "E0001/layout.json", "E0001/solution.pdf",
                                                  "E0001/student.pdf", "E0002/answers.json", "E0002/layout.json",
                                                  "E0002/solution.pdf", "E0002/student.pdf",
                                                  "answer_key.csv", "manifest.json", "print/all-solutions.pdf",
                                                  "print/all-students.pdf"]
    return error_lines(err)


def test_cache_under_a_file_warns_once_and_builds(tmp_path: Path, clean: dict[str, str]) -> None:
    (tmp_path / "file").write_text("not a folder")
    path = tmp_path / "file" / "sub"
    proc = _build(tmp_path / "out", path)  # a new process: the jinja2 cache and the compile cache both try it
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc.stderr) == [WARNING.format(path=path, reason="Not a directory")]
    assert _pdfs(tmp_path / "out") == _clean_pdfs(clean)


def test_cache_with_a_missing_parent_that_cannot_be_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = Path("/proc/examgen-no-such-folder/cache")  # /proc takes no new folders, not even from root
    monkeypatch.setenv("EXAMGEN_CACHE", str(path))
    assert _build_here(tmp_path, capsys) == [WARNING.format(path=path, reason="No such file or directory")]


def test_read_only_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """chmod does not stop root: the file system's answer is injected at the OS level."""
    path = tmp_path / "cache"
    path.mkdir()
    real_mkstemp, real_mkdtemp = tempfile.mkstemp, tempfile.mkdtemp

    def refuse(real):  # type: ignore[no-untyped-def]
        def fn(suffix=None, prefix=None, dir=None, *args):  # type: ignore[no-untyped-def]  # noqa: A002
            if dir is not None and Path(dir).is_relative_to(path):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
            return real(suffix, prefix, dir, *args)
        return fn

    monkeypatch.setattr(tempfile, "mkstemp", refuse(real_mkstemp))
    monkeypatch.setattr(tempfile, "mkdtemp", refuse(real_mkdtemp))
    monkeypatch.setenv("EXAMGEN_CACHE", str(path))
    assert _build_here(tmp_path, capsys) == [WARNING.format(path=path, reason="Read-only file system")]
    assert os.listdir(path) == []


def test_full_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """ENOSPC while an entry is written: one warning, nothing half-stored, the build completes."""
    path = tmp_path / "cache"
    real = shutil.copyfile

    def copyfile(src, dst, **kw):  # type: ignore[no-untyped-def]
        if Path(dst).is_relative_to(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, **kw)

    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:  # (a batch's PDFs are stored from memory)
        if self.is_relative_to(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, data)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setenv("EXAMGEN_CACHE", str(path))
    assert _build_here(tmp_path, capsys) == [WARNING.format(path=path, reason="No space left on device")]
    leftovers = [p for p in path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    assert not (path / "pdf").exists() or not any((path / "pdf").iterdir())


# ------------------------------------------------------------------ pdflatex timeouts
def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    """A pdflatex that started a grandchild (which holds its pipes open) is killed with it."""
    cache = tmp_path / "cache"  # the formats (real pdftex, slower than TIMEOUT on a loaded machine) come from here
    assert _build(tmp_path / "first", cache, "-n", "1").returncode == 0
    pids = tmp_path / "pids"
    fake = tmp_path / "pdflatex"
    fake.write_text(f"#!/bin/sh\necho $$ >> {pids}\nsleep 600 &\necho $! >> {pids}\nsleep 600\n")
    fake.chmod(0o755)
    code = ("import sys; from examgen.cli import main; "
            f"sys.exit(main(['build', {str(QUIZ)!r}, '-n', '2', '-j', '1', '-o', {str(tmp_path / 'out')!r}], "
            f"pdflatex={str(fake)!r}, tex_timeout=1))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), EXAMGEN_CACHE=str(cache))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=120)  # hangs forever when only the direct child is killed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in map(int, pids.read_text().split()) if pids.exists() else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("examgen: error: variant")
    assert "pdflatex did not finish within 1 s (killed); build stopped; look for an endless loop" in lines[0]
    assert proc.returncode == 1
    assert session_procs(proc.pid) == [], "processes of the build left running"
    started = list(map(int, pids.read_text().split()))
    # the fake and its grandchild: one TeX run (-j 1: two workers would start both batches' passes at
    # once), the build stopped there
    assert len(started) == 2
    assert not [pid for pid in started if _alive(pid)], "the fake pdflatex or its grandchild is still running"
    assert not (tmp_path / "out").exists()


# the real runs (the format's) must finish within it on a loaded 2-core machine; only the fake
# passes, which sleep, reach it (2 s failed under a load of 12)
TIMEOUT = 20


def _loop_on_final_pass(tmp: Path) -> None:
    """A fake pdflatex: every pass loops (and is counted)."""
    fake = tmp / "pdflatex"
    fake.write_text(f"#!/bin/sh\necho started >> {tmp / 'finals'}\nexec sleep 600\n")
    fake.chmod(0o755)


def _one_timeout(tmp: Path) -> None:
    started = (tmp / "finals").read_text().split()
    assert 1 <= len(started) <= 2, started  # the two lanes ran at once (-j 2); no variant alone


ROWS = [
    Row("timeout stops the build: no variant compiled alone", "(student and solution): pdflatex did not finish", 1,
        args=("build", str(QUIZ), "-n", "4", "-o", "{out}", "--no-cache", "-j", "2"),
        setup=_loop_on_final_pass, check=_one_timeout),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    start = time.monotonic()
    run_row(row, tmp_path, capsys, monkeypatch,
            main_kwargs={"pdflatex": str(tmp_path / "pdflatex"), "tex_timeout": TIMEOUT})
    assert time.monotonic() - start < 120


def test_timeout_message_names_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _loop_on_final_pass(tmp_path)
    assert main(["build", str(QUIZ), "-n", "4", "-o", str(tmp_path / "out"), "--no-cache", "-j", "1"],
                pdflatex=str(tmp_path / "pdflatex"), tex_timeout=TIMEOUT) == 1
    lines = error_lines(capsys.readouterr().err)
    # which lane (lanes(4): variants 1-2 and 3-4) reaches the one TeX slot first depends on the machine's load
    assert len(lines) == 1 and re.fullmatch(
        r"examgen: error: variants (E0001-E0002|E0003-E0004) \(student and solution\): pdflatex did not finish "
        r"within 20 s \(killed\); build stopped; look for an endless loop in the LaTeX of these variants' "
        r"templates", lines[0]), lines
    assert (tmp_path / "finals").read_text().split() == ["started"]  # -j 1: exactly one TeX run timed out


# ------------------------------------------------------------------ print files in parts
def test_print_parts_names_and_runs() -> None:
    codes = [f"E{i:04d}" for i in range(1, 251)]
    assert pdf.print_parts(codes[:100]) == [("", codes[:100])]
    parts = pdf.print_parts(codes)
    assert [s for s, _ in parts] == ["-E0001-E0100", "-E0101-E0200", "-E0201-E0250"]
    assert [len(r) for _, r in parts] == [100, 100, 50]


def test_print_files_in_parts(tmp_path: Path, clean_out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above PRINT_PART variants the print job is split: each part holds its variants'
    pages in order (read back with pdftotext), and together they are every page once."""
    stage = tmp_path / "stage"
    for code in ("E0001", "E0002"):
        shutil.copytree(clean_out / code, stage / code)
    shutil.copytree(clean_out / "E0001", stage / "E0003")
    monkeypatch.setattr(pdf, "PRINT_PART", 2)
    codes = ["E0001", "E0002", "E0003"]
    pdf.print_files(stage, codes, [(stage / c / "student.pdf", []) for c in codes])  # booklets, nothing to stamp
    names = sorted(p.name for p in (stage / "print").iterdir())
    assert names == ["all-solutions-E0001-E0002.pdf", "all-solutions-E0003-E0003.pdf",
                     "all-students-B001-B002.pdf", "all-students-B003-B003.pdf"]
    first = pages_text(stage / "print" / "all-students-B001-B002.pdf")
    assert first == pages_text(stage / "E0001" / "student.pdf") + pages_text(stage / "E0002" / "student.pdf")
    assert pages_text(stage / "print" / "all-solutions-E0003-E0003.pdf") == pages_text(stage / "E0003" / "solution.pdf")
