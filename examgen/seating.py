"""`examgen seat BUILD --rooms rooms.yaml`: numbered booklets -> rooms and seats, so that no two
neighbours (left, right, front, back) hold the same variant; an attendance list per room.

Data flow: read the room file (rooms, each a grid of seats) -> the build's booklets (manifest.json:
booklet b is of variant ((b - 1) mod V) + 1, as writers/pdf.py prints them) -> assign -> check ->
render one LaTeX attendance list per room -> compile -> write BUILD-seating/ (seating.csv,
rooms/<room>.pdf, manifest.json) atomically.

The room file (YAML):

    rooms:
      - name: MW 2001                 # printed on its list; rooms fill in the order given
        seats: |                      # one line per row, the front row first
          S.S.S.S|S.S.S.S             # S a seat to use; . a seat left free; | an aisle
          ...............
          S.S.S.S|S.S.S.S

Neighbours: the nearest seat to use in each of the four directions within `reach` cells
(default 2, so one free seat or one free row between two students still makes them neighbours);
an aisle `|` separates left from right. Seats fill row by row from the front, left to right; each
seat takes the variant, different from every seated neighbour's, that has the most booklets left
(ties: a diagonal pattern, then the lower variant), and that variant's lowest booklet."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GradingError, OutputError, SpecError
from .outputs import MANIFEST, folder_manifest
from .targets import staging, work_folder
from .texfmt import escape
from .yamlfile import load_yaml

if TYPE_CHECKING:
    from .compiler import Compiler

SEAT, FREE, AISLE = "S", ".", "|"


@dataclass(frozen=True)
class Room:
    name: str
    rows: tuple[str, ...]  # the grid as written, front row first
    where: str  # file:line of its entry, for messages


@dataclass(frozen=True)
class Seat:
    room: str
    row: int  # 1 = front row (grid line)
    column: int  # 1 = leftmost cell (aisles and free seats count)


@dataclass(frozen=True)
class Placement:
    seat: Seat
    booklet: int
    variant: str


def read_rooms(path: Path) -> tuple[list[Room], int]:
    """The rooms of a room file, each checked, and its `reach`; one clear line naming file:line
    on a fault."""
    doc = load_yaml(path, SpecError)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("rooms"), list) or not data["rooms"]:
        raise SpecError(f"{doc.where(())}: a room file needs `rooms:`, a list of rooms with `name` and `seats`; "
                        "see README (Seating)")
    if set(data) - {"rooms", "reach"}:
        extra = sorted(set(data) - {"rooms", "reach"})[0]
        raise SpecError(f"{doc.where((extra,))}: unknown key '{extra}'; a room file has `rooms` and `reach`")
    rooms: list[Room] = []
    for i, r in enumerate(data["rooms"]):
        at = doc.where(("rooms", i))
        if not isinstance(r, dict) or set(r) != {"name", "seats"}:
            raise SpecError(f"{at}: a room needs exactly `name` and `seats` (a grid: S seat, . free, | aisle)")
        name, grid = r["name"], r["seats"]
        if not isinstance(name, (str, int)) or not str(name).strip():
            raise SpecError(f"{doc.where(('rooms', i, 'name'))}: a room's name must be a non-empty text")
        name = str(name).strip()
        if any(x.name == name for x in rooms):
            raise SpecError(f"{doc.where(('rooms', i, 'name'))}: room '{name}' is given twice; rename one")
        if not isinstance(grid, str) or not grid.strip():
            raise SpecError(f"{doc.where(('rooms', i, 'seats'))}: `seats` must be a grid, one line per row "
                            "(S seat, . free, | aisle), e.g. `seats: |` then the rows")
        rows = tuple(line.rstrip() for line in grid.strip("\n").splitlines())
        for k, line in enumerate(rows, 1):
            bad = re.search(r"[^S.| ]", line)
            if bad:
                raise SpecError(f"{doc.where(('rooms', i, 'seats'))}: room '{name}' row {k}: unknown cell "
                                f"'{bad.group()}' (use S for a seat, . for a free seat, | for an aisle)")
        if not any(SEAT in line for line in rows):
            raise SpecError(f"{doc.where(('rooms', i, 'seats'))}: room '{name}' has no seat (S)")
        rooms.append(Room(name, tuple(line.replace(" ", "") for line in rows), at))
    reach = data.get("reach", 2)
    if not isinstance(reach, int) or isinstance(reach, bool) or not 1 <= reach <= 5:
        raise SpecError(f"{doc.where(('reach',))}: `reach` must be a whole number of cells from 1 to 5")
    return rooms, reach


def seats_of(room: Room) -> list[Seat]:
    """The seats to use, row by row from the front, left to right."""
    return [Seat(room.name, r, c) for r, line in enumerate(room.rows, 1) for c, cell in enumerate(line, 1)
            if cell == SEAT]


def neighbours(room: Room, reach: int) -> dict[Seat, list[Seat]]:
    """Each seat's nearest seat to use left, right, in front and behind (within reach; an aisle
    separates left from right)."""
    grid = room.rows

    def cell(r: int, c: int) -> str:
        return grid[r - 1][c - 1] if 1 <= r <= len(grid) and 1 <= c <= len(grid[r - 1]) else FREE

    out: dict[Seat, list[Seat]] = {}
    for s in seats_of(room):
        found = []
        for dr, dc in ((0, -1), (0, 1), (-1, 0), (1, 0)):
            for k in range(1, reach + 1):
                here = cell(s.row + dr * k, s.column + dc * k)
                if here == AISLE and dc:
                    break
                if here == SEAT:
                    found.append(Seat(room.name, s.row + dr * k, s.column + dc * k))
                    break
        out[s] = found
    return out


def booklets_of(build_dir: Path) -> list[str]:
    """The variant code of every printed booklet 1..N of a build (manifest.json)."""
    try:
        data = json.loads((Path(build_dir) / MANIFEST).read_text(encoding="utf-8"))
        n_variants = int(data["variants"])
        n = int(data.get("booklets", n_variants))
    except (OSError, ValueError, KeyError, TypeError):
        raise GradingError(f"{build_dir}: not an examgen build folder (no readable {MANIFEST}); "
                           "give the folder `examgen build --out` wrote") from None
    return [f"E{(b - 1) % n_variants + 1:04d}" for b in range(1, n + 1)]


def assign(rooms: list[Room], variants: list[str], reach: int = 2, count: int | None = None) -> list[Placement]:
    """Booklets 1..count (of variants[b - 1]) onto the rooms' seats; no neighbour shares a variant."""
    count = len(variants) if count is None else count
    seats = [(room, s) for room in rooms for s in seats_of(room)]
    if count > len(seats):
        raise GradingError(f"{len(seats)} seats for {count} booklets: add rooms or seats to the room file, "
                           "or seat fewer booklets (--count)")
    left: dict[str, list[int]] = {}
    for b, v in enumerate(variants[:count], 1):
        left.setdefault(v, []).append(b)
    order = sorted(left)
    near = {s: n for room in rooms for s, n in neighbours(room, reach).items()}
    where = {room.name: room.where for room in rooms}
    used = [s for _, s in seats[:count]]
    counts = [len(left[v]) for v in order]
    var: dict[Seat, str] = {} if len(order) != 2 else _two_colours(used, near, order, counts, where)
    for s in (used if not var else ()):  # greedy: the variant with most booklets left that no seated neighbour holds
        banned = {var[n] for n in near[s] if n in var}
        free = [v for v in order if left[v] and v not in banned] or [v for v in order if left[v]]
        diagonal = order[(s.row + s.column) % len(order)]
        v = max(free, key=lambda x: (len(left[x]), x == diagonal, -order.index(x)))
        var[s] = v
        left[v].pop()
    _repair(used, near, var, where)
    booklets: dict[str, list[int]] = {}
    for b, v in enumerate(variants[:count], 1):
        booklets.setdefault(v, []).append(b)
    return [Placement(s, booklets[var[s]].pop(0), var[s]) for s in used]


def _two_colours(used: list[Seat], near: dict[Seat, list[Seat]], order: list[str], want: list[int],
                 where: dict[str, str]) -> dict[Seat, str]:
    """Two variants: the neighbour graph's two-colouring (each connected group of seats has
    exactly two), each group turned so that the counts come out as the booklets'."""
    inside = set(used)
    side: dict[Seat, int] = {}
    groups: list[list[Seat]] = []
    for start in used:
        if start in side:
            continue
        side[start], todo, group = 0, [start], []
        while todo:
            s = todo.pop()
            group.append(s)
            for n in near[s]:
                if n not in inside:
                    continue
                if n not in side:
                    side[n] = 1 - side[s]
                    todo.append(n)
                elif side[n] == side[s]:
                    raise GradingError(f"{where[s.room]}: room '{s.room}' row {s.row} seat {s.column}: two variants "
                                       "cannot alternate around it (its neighbours form an odd ring); build more "
                                       "variants or leave more seats free (.)")
        groups.append(group)
    first = 0
    for g in sorted(groups, key=len, reverse=True):  # turn each group towards the first variant's count
        zeros = sum(side[s] == 0 for s in g)
        if abs(want[0] - first - (len(g) - zeros)) < abs(want[0] - first - zeros):
            for s in g:
                side[s] = 1 - side[s]
        first += sum(side[s] == 0 for s in g)
    if first != want[0]:
        raise GradingError(f"two variants alternate on these seats only as {first} and {len(used) - first}, not as "
                           f"the booklets' {want[0]} and {want[1]}; build more variants or seat a different count "
                           "(--count)")
    return {s: order[side[s]] for s in used}


def _repair(used: list[Seat], near: dict[Seat, list[Seat]], var: dict[Seat, str], where: dict[str, str]) -> None:
    """Swap the variants of two seats until no neighbours share one (the greedy pass runs out of
    variants near the end when the counts are tight); swaps keep every variant's count."""
    def clash(s: Seat) -> bool:
        return any(n in var and var[n] == var[s] for n in near[s])

    for _ in range(4 * len(used)):
        bad = next((s for s in used if clash(s)), None)
        if bad is None:
            return
        for t in used:
            if var[t] == var[bad]:
                continue
            var[bad], var[t] = var[t], var[bad]
            if not clash(bad) and not clash(t):
                break
            var[bad], var[t] = var[t], var[bad]
        else:
            have = ", ".join(sorted(set(var.values())))
            raise GradingError(f"{where[bad.room]}: room '{bad.room}' row {bad.row} seat {bad.column}: no arrangement "
                               f"found in which it differs from its neighbours with these variants ({have}); "
                               "build more variants or leave more seats free (.)")
    raise GradingError("no seating found in which all neighbours differ; build more variants or leave more "
                       "seats free (.)")


def clashes(rooms: list[Room], placed: list[Placement], reach: int = 2) -> list[str]:
    """Every pair of neighbours holding the same variant (none, when assign placed them)."""
    at = {p.seat: p for p in placed}
    out = []
    for room in rooms:
        for s, near in neighbours(room, reach).items():
            for n in near:
                if s in at and n in at and (s.row, s.column) < (n.row, n.column) and at[s].variant == at[n].variant:
                    out.append(f"{room.name}: row {s.row} seat {s.column} and row {n.row} seat {n.column} "
                               f"both hold {at[s].variant}")
    return out


def seating_csv(placed: list[Placement], width: int) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["room", "row", "seat", "booklet", "variant"])
    for p in placed:
        w.writerow([p.seat.room, p.seat.row, p.seat.column, f"B{p.booklet:0{width}d}", p.variant])
    return buf.getvalue()


def attendance_tex(title: str, room: str, placed: list[Placement], width: int, fonts: str) -> str:
    """One room's attendance list: seat, booklet, variant, and empty columns to fill in."""
    rows = "\n".join(f"{p.seat.row} & {p.seat.column} & B{p.booklet:0{width}d} & {p.variant} & & & \\\\ \\hline"
                     for p in placed)
    return rf"""\documentclass[11pt,a4paper]{{article}}
\usepackage[T1]{{fontenc}}
\usepackage{{{fonts}}}
\usepackage[margin=18mm,top=20mm,bottom=20mm]{{geometry}}
\usepackage{{longtable,array}}
\pagestyle{{plain}}
\renewcommand{{\arraystretch}}{{1.9}}
\begin{{document}}
\noindent{{\Large\bfseries Attendance list}}\hfill{{\large {escape(room)}}}\par\smallskip
\noindent {escape(title)}\hfill {len(placed)} seats\par\medskip
\noindent Check each student's ID; the student signs beside the booklet they received.\par\medskip
\begin{{longtable}}{{|p{{9mm}}|p{{9mm}}|p{{15mm}}|p{{14mm}}|p{{26mm}}|p{{48mm}}|p{{36mm}}|}}
\hline \textbf{{Row}} & \textbf{{Seat}} & \textbf{{Booklet}} & \textbf{{Variant}} & \textbf{{Registration}}
 & \textbf{{Name}} & \textbf{{Signature}} \\ \hline \endhead
{rows}
\end{{longtable}}
\end{{document}}
"""


def _title(build_dir: Path) -> str:
    """'IN2346 Quiz 1': the exam's code and name, from its first variant's answers.json."""
    try:
        exam = json.loads((build_dir / "E0001" / "answers.json").read_text(encoding="utf-8"))["exam"]
        return f"{exam.get('code', '')} {exam.get('name', '')}".strip()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return build_dir.name


def _file_name(room: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", room).strip("-") or "room"


def seat(build_dir: Path, rooms_file: Path, rooms: list[Room], reach: int, out: Path, count: int | None,
         compiler: Compiler, progress: Callable[[int], None] | None = None) -> list[Path]:
    """Assign, check, typeset and write BUILD-seating/ (seating.csv, rooms/*.pdf) for the rooms
    read_rooms read from rooms_file. Returns the files."""
    from .layouts import DEFAULT
    from .layouts import get as get_layout

    step = progress or (lambda n: None)
    variants = booklets_of(build_dir)
    if count is not None and count > len(variants):
        raise GradingError(f"--count {count}: the build has {len(variants)} booklets; "
                           "build more with examgen build --booklets N")
    placed = assign(rooms, variants, reach, count)
    bad = clashes(rooms, placed, reach)
    if bad:  # assign never does this; a second opinion on the neighbour rule
        raise GradingError(f"{rooms_file}: {bad[0]}")
    width = max(3, len(str(len(variants))))
    names = {r.name: _file_name(r.name) for r in rooms}
    if len(set(names.values())) != len(names):
        raise SpecError(f"{rooms_file}: two rooms give the same file name ({', '.join(names.values())}); "
                        "rename one")
    title = _title(Path(build_dir))
    fonts = get_layout(DEFAULT).fonts
    with work_folder("examgen-seat-") as tmp:
        pdfs: dict[str, Path] = {}
        for room in rooms:
            mine = [p for p in placed if p.seat.room == room.name]
            if not mine:
                continue
            tex = attendance_tex(title, room.name, mine, width, fonts.stem)
            pdfs[room.name] = compiler.compile_once(tmp / names[room.name], "attendance", tex,
                                                    f"attendance list {room.name}", (fonts,))
            step(1)
        try:
            with staging(Path(out), "seating") as stage:
                (stage / "seating.csv").write_text(seating_csv(placed, width), encoding="utf-8")
                (stage / "rooms").mkdir()
                for name, pdf in pdfs.items():
                    (stage / "rooms" / f"{names[name]}.pdf").write_bytes(pdf.read_bytes())
                (stage / MANIFEST).write_text(folder_manifest(stage, "seating", build=Path(build_dir).name),
                                              encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{out}: cannot write the seating ({exc})") from None
    out = Path(out).resolve()
    return [out / "seating.csv", *[out / "rooms" / f"{names[r]}.pdf" for r in pdfs]]
