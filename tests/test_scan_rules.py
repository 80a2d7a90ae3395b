"""The scan's decision rules on hand-worked readings (TUM's rules, literal expectations): the
end-to-end tests check them only through the simulator, whose ground truth restates them."""

from __future__ import annotations

from examgen.scan.classify import DEFAULTS, Reading, assign_booklets, box_state, mc_value, score_value

EMPTY, CROSSED, FILLED = Reading("empty", ""), Reading("crossed", ""), Reading("filled", "")


def test_box_state_by_darkness_and_the_paper_left_inside() -> None:
    t = dict(DEFAULTS, mark=0.15, mark_band=0.07, fill=0.08, fill_band=0.04)
    assert box_state(0.02, 0.95, t) == EMPTY
    assert box_state(0.45, 0.40, t) == CROSSED  # strokes with paper between them
    assert box_state(0.90, 0.01, t) == FILLED  # blackened: cancelled
    assert box_state(0.10, 0.90, t) == Reading("empty", "darkness 0.10 near the mark threshold 0.15")
    assert box_state(0.60, 0.09, t) == Reading("crossed", "paper share 0.09: crossed or filled?")


def test_tum_rule_crossed_checked_filled_cancelled_recheck_checks_again() -> None:
    value, flags = mc_value({1: (CROSSED, EMPTY), 2: (FILLED, EMPTY), 3: (FILLED, CROSSED), 4: (EMPTY, EMPTY)})
    assert (value, flags) == ("1;3", [])
    assert mc_value({2: (EMPTY, CROSSED)}) == ("", ["box 2: a cross in the recheck square beside an empty box"])
    assert mc_value({1: (EMPTY, None), 2: (EMPTY, None)}) == ("", [])


def test_score_grid_second_correction_wins_two_crosses_flag_none_flags() -> None:
    first = [(0.0, False, ""), (0.5, False, ""), (1.0, True, ""), (1.5, False, "")]
    second = [(0.0, False, ""), (0.5, True, ""), (1.0, False, ""), (1.5, False, "")]
    assert score_value({1: first}) == ("1", [])
    assert score_value({1: first, 2: second}) == ("0.5", [])
    two = [(0.0, False, ""), (0.5, True, ""), (1.0, True, "")]
    assert score_value({1: two}) == ("1", ["correction 1: 2 crosses (0.5, 1)"])
    assert score_value({1: [(0.0, False, ""), (0.5, False, "")]}) == ("", ["no cross in the score grid"])


def test_a_page_without_its_code_is_placed_only_in_the_one_booklet_lacking_it() -> None:
    booklets = {1: "E0001", 2: "E0002", 3: "E0001"}
    have = {(1, 1), (1, 2), (2, 1), (2, 2), (3, 1)}  # booklet 3 lacks page 2
    assert assign_booklets(booklets, have, [[("E0001", 2)]]) == [((3, "E0001", 2), [(3, "E0001", 2)])]
    # two booklets of E0001 lack page 2: not guessed
    decided = assign_booklets(booklets, have - {(1, 2)}, [[("E0001", 2)]])
    assert decided == [(None, [(1, "E0001", 2), (3, "E0001", 2)])]
    # two pending pages for the one free slot (a rescan, a copy): neither is placed
    assert [d for d, _ in assign_booklets(booklets, have, [[("E0001", 2)], [("E0001", 2)]])] == [None, None]
