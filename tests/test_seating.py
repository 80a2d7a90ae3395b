"""examgen seat (issue 17): booklets to seats so that no neighbour shares a variant, and the
attendance lists. The neighbour rule is checked by a pairwise predicate written here (two seats
in one row within `reach` cells with no aisle and no seat between, or in one column within
`reach` rows with no seat between), not by examgen's scan in four directions; expected
placements of small rooms are worked by hand."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from conftest import error_lines, pages_text

from examgen.cli import main
from examgen.errors import GradingError
from examgen.seating import Room, Seat, assign, neighbours, read_rooms


def _neighbour_pairs(rows: list[str], reach: int = 2) -> set[tuple[tuple[int, int], tuple[int, int]]]:
    seats = [(r, c) for r, line in enumerate(rows, 1) for c, x in enumerate(line, 1) if x == "S"]
    cell = {(r, c): x for r, line in enumerate(rows, 1) for c, x in enumerate(line, 1)}
    pairs = set()
    for a in seats:
        for b in seats:
            if a >= b:
                continue
            if a[0] == b[0] and b[1] - a[1] <= reach:
                between = [cell.get((a[0], c), ".") for c in range(a[1] + 1, b[1])]
                if "|" not in between and "S" not in between:
                    pairs.add((a, b))
            if a[1] == b[1] and b[0] - a[0] <= reach:
                if all(cell.get((r, a[1]), ".") != "S" for r in range(a[0] + 1, b[0])):
                    pairs.add((a, b))
    return pairs


def _room(rows: list[str], name: str = "R") -> Room:
    return Room(name, tuple(rows), "rooms.yaml:2:5")


def test_neighbours_of_a_hand_drawn_room():
    rows = ["S.S|S",
            "S...S",
            ".....",
            "..S.."]
    near = neighbours(_room(rows), 2)

    def of(r, c):
        return sorted((s.row, s.column) for s in near[Seat("R", r, c)])
    assert of(1, 1) == [(1, 3), (2, 1)]  # right across one free seat; behind
    assert of(1, 3) == [(1, 1)]  # the aisle hides (1, 5); nothing within 2 rows behind (3, 3)
    assert of(1, 5) == [(2, 5)]
    assert of(4, 3) == []  # two free rows in front: out of reach
    assert of(2, 1) == [(1, 1)]  # (2, 5) is 4 cells away


@pytest.mark.parametrize("trial", range(60))
def test_no_neighbours_share_a_variant(trial):
    rng = random.Random(trial)
    v = rng.randint(2, 6)
    n_rooms = rng.randint(1, 3)
    rooms = []
    for k in range(n_rooms):
        width, height = rng.randint(3, 14), rng.randint(2, 9)
        rows = ["".join(rng.choice("SSSS.") for _ in range(width)) for _ in range(height)]
        if rng.random() < 0.5:
            cut = width // 2
            rows = [r[:cut] + "|" + r[cut:] for r in rows]
        rooms.append(_room(rows, f"R{k}"))
    seats = sum(r.count("S") for room in rooms for r in room.rows)
    count = rng.randint(max(1, seats // 2), seats)
    variants = [f"E{(b - 1) % v + 1:04d}" for b in range(1, count + rng.randint(0, 5) + 1)]
    if v == 2:  # two variants: only a checkerboard works, and only on a room without odd gaps
        rooms = [_room(["S" * len(room.rows[0])] * len(room.rows), room.name) for room in rooms]
        seats = sum(r.count("S") for room in rooms for r in room.rows)
        count = min(count, seats)
    placed = assign(rooms, variants, 2, count)
    assert sorted(p.booklet for p in placed) == list(range(1, count + 1))  # each booklet once, the first count
    assert all(variants[p.booklet - 1] == p.variant for p in placed)  # its own variant
    assert len({p.seat for p in placed}) == count
    at = {(p.seat.room, p.seat.row, p.seat.column): p.variant for p in placed}
    for room in rooms:
        for a, b in _neighbour_pairs(list(room.rows)):
            ka, kb = (room.name, *a), (room.name, *b)
            if ka in at and kb in at:
                assert at[ka] != at[kb], (room.rows, a, b)


def test_a_small_room_by_hand():
    """Three variants, six booklets, one row of three and one of three behind it."""
    placed = assign([_room(["SSS", "SSS"])], [f"E000{(b - 1) % 3 + 1}" for b in range(1, 7)], 2)
    got = [(p.seat.row, p.seat.column, p.booklet) for p in placed]
    # row 1: each seat takes the variant with the most booklets left (all 2), the diagonal pattern
    # (row + column) mod 3 breaking ties: (1,1) -> E0003, (1,2) -> E0001, (1,3) -> E0002;
    # row 2 must differ from the seat in front and on the left.
    assert [v for *_, v in [(p.seat, p.variant) for p in placed]][:3] == ["E0003", "E0001", "E0002"]
    assert got[:3] == [(1, 1, 3), (1, 2, 1), (1, 3, 2)]
    second = [p.variant for p in placed[3:]]
    assert second[0] not in ("E0003",) and second[0] != second[1] and second[1] != "E0001"
    assert second[2] not in (second[1], "E0002")


def test_one_variant_cannot_be_seated_next_to_itself():
    with pytest.raises(GradingError, match=r"rooms.yaml:2:5: room 'R' row 1 seat 1: no arrangement found in which "
                                           r"it differs from its neighbours with these variants \(E0001\); build more"):
        assign([_room(["SS"])], ["E0001", "E0001"], 2)


def test_too_few_seats():
    with pytest.raises(GradingError, match=r"^3 seats for 4 booklets: add rooms or seats"):
        assign([_room(["S.S.S"])], ["E0001", "E0002", "E0001", "E0002"], 2)


ROOMS = """rooms:
  - name: MW 2001
    seats: |
      S.S.S|S.S
      .........
      S.S.S|S.S
  - name: Interims 1
    seats: |
      SSS
"""


def _build(tmp: Path, booklets: int, variants: int = 3) -> Path:
    """A stand-in build folder: the manifest and E0001's answers.json are all seat reads."""
    b = tmp / "build"
    (b / "E0001").mkdir(parents=True)
    (b / "E0001" / "answers.json").write_text(json.dumps({"exam": {"code": "IN2346", "name": "Endterm"}}))
    (b / "manifest.json").write_text(json.dumps({"examgen": "0.1.0", "kind": "build", "variants": variants,
                                                 "booklets": booklets, "files": {}}))
    return b


def test_seat_writes_the_csv_and_one_attendance_list_per_room(tmp_path, capsys):
    build = _build(tmp_path, 11)
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    assert main(["seat", str(build), "--rooms", str(tmp_path / "rooms.yaml")]) == 0
    out = tmp_path / "build-seating"
    rows = list(csv.DictReader((out / "seating.csv").open()))
    assert [r["room"] for r in rows] == ["MW 2001"] * 10 + ["Interims 1"]
    assert sorted(r["booklet"] for r in rows) == [f"B{b:03d}" for b in range(1, 12)]
    assert all(r["variant"] == f"E{(int(r['booklet'][1:]) - 1) % 3 + 1:04d}" for r in rows)
    assert (rows[0]["row"], rows[0]["seat"], rows[5]["row"], rows[5]["seat"]) == ("1", "1", "3", "1")
    pages = pages_text(out / "rooms" / "MW-2001.pdf")
    assert len(pages) == 1
    assert "Attendance list" in pages[0] and "MW 2001" in pages[0] and "IN2346 Endterm" in pages[0]
    assert all(r["booklet"] in pages[0] for r in rows[:10]) and rows[10]["booklet"] not in pages[0]
    assert "10 seats" in pages[0] and "Signature" in pages[0]
    assert rows[10]["booklet"] in pages_text(out / "rooms" / "Interims-1.pdf")[0]
    assert json.loads((out / "manifest.json").read_text())["kind"] == "seating"
    assert "seat: 3 files written" in capsys.readouterr().out
    # run again: examgen replaces its own seating folder
    assert main(["seat", str(build), "--rooms", str(tmp_path / "rooms.yaml"), "--count", "4"]) == 0
    assert len(list(csv.DictReader((out / "seating.csv").open()))) == 4
    assert sorted(p.name for p in (out / "rooms").iterdir()) == ["MW-2001.pdf"]


@pytest.mark.parametrize("rooms, fragment", [
    ("rooms: []\n", "rooms.yaml:1:1: a room file needs `rooms:`"),
    ("rooms:\n  - name: A\n    seats: |\n      SXS\n", "rooms.yaml:3:5: room 'A' row 1: unknown cell 'X' (use S"),
    ("rooms:\n  - name: A\n    seats: S\n  - name: A\n    seats: S\n",
     "rooms.yaml:4:5: room 'A' is given twice; rename one"),
    ("rooms:\n  - name: A\n    seats: '...'\n", "rooms.yaml:3:5: room 'A' has no seat (S)"),
    ("rooms:\n  - name: A\n    sits: S\n", "rooms.yaml:2:5: a room needs exactly `name` and `seats`"),
    ("rooms:\n  - name: A\n    seats: S\nreach: 9\n", "rooms.yaml:4:1: `reach` must be a whole number"),
    ("rooms:\n  - name: A\n    seats: SSS\n", "3 seats for 11 booklets: add rooms or seats to the room file"),
])
def test_a_bad_room_file_is_one_line_and_writes_nothing(tmp_path, capsys, rooms, fragment):
    build = _build(tmp_path, 11)
    (tmp_path / "rooms.yaml").write_text(rooms)
    code = main(["seat", str(build), "--rooms", str(tmp_path / "rooms.yaml")])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2 and len(lines) == 1, lines
    assert fragment in lines[0].replace(str(tmp_path) + "/", "")
    assert not (tmp_path / "build-seating").exists()


def test_seat_never_replaces_a_users_folder(tmp_path, capsys):
    build = _build(tmp_path, 3)
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    code = main(["seat", str(build), "--rooms", str(tmp_path / "rooms.yaml"), "--out", str(mine)])
    assert code == 2 and "not an examgen seating folder" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_read_rooms_keeps_the_grid(tmp_path):
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    rooms, reach = read_rooms(tmp_path / "rooms.yaml")
    assert reach == 2
    assert [r.name for r in rooms] == ["MW 2001", "Interims 1"]
    assert rooms[0].rows == ("S.S.S|S.S", ".........", "S.S.S|S.S")
