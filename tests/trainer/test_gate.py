"""The champion/challenger rule (trainer.promotion): table-driven, one row per case of the rule."""

import pytest

from trainer.gate import (
    REAL_PEN_MARGIN,
    TEST_TOLERANCE,
    Candidate,
    Champion,
    Scores,
    decide,
    judge,
    select_best,
    wins,
)


def scores(test: float, real: float, feedback: float | None = None, synthetic: float = 0.9) -> Scores:
    return Scores(
        test_accuracy=test,
        real_pen_accuracy=real,
        synthetic_drawn_accuracy=synthetic,
        feedback_accuracy=feedback,
        feedback_digest="held-out" if feedback is not None else "",
    )


def candidate(key: str, test: float, real: float = 0.97, feedback: float | None = None) -> Candidate:
    return Candidate(f"run-{key}", key, key.title(), scores(test, real, feedback), "models:/m-k", "models:/m-o")


WELL_PAST_THE_MARGIN = REAL_PEN_MARGIN * 2
WITHIN_THE_MARGIN = REAL_PEN_MARGIN / 2

# (challenger, holder, wins, the criterion that decided, in the verdict's words)
RULE = [
    # 1. MNIST test: more than the tolerance worse loses, whatever else it reads better.
    (scores(0.990 - TEST_TOLERANCE * 2, 0.99, 0.99), scores(0.990, 0.96, 0.70), False, "worse on MNIST test"),
    # 2. Feedback, when both have it, decides before real pens...
    (scores(0.990, 0.95, 0.80), scores(0.990, 0.99, 0.70), True, "feedback better"),
    (scores(0.999, 0.99, 0.69), scores(0.990, 0.96, 0.70), False, "feedback worse"),
    (scores(0.990 - TEST_TOLERANCE / 2, 0.97, 0.80), scores(0.990, 0.97, 0.70), True, "feedback better"),
    # ...and a tie on it falls through to real pens (it used to keep the champion).
    (scores(0.992, 0.98, 1.0), scores(0.990, 0.97, 1.0), True, "real pens better by more"),
    (scores(0.992, 0.96, 1.0), scores(0.990, 0.97, 1.0), False, "real pens worse by more"),
    # 3. Real pens: past the sampling error, the difference decides.
    (scores(0.990, 0.97 + WELL_PAST_THE_MARGIN), scores(0.990, 0.97), True, "real pens better by more"),
    (scores(0.990 - TEST_TOLERANCE / 2, 0.97 + WELL_PAST_THE_MARGIN), scores(0.990, 0.97), True, "better by more"),
    (scores(0.999, 0.97 - WELL_PAST_THE_MARGIN), scores(0.990, 0.97), False, "real pens worse by more"),
    # Within it, a tie: 4. not worse on real pens and better on MNIST test wins.
    (scores(0.991, 0.97 + WITHIN_THE_MARGIN), scores(0.990, 0.97), True, "MNIST test better"),
    (scores(0.991, 0.97), scores(0.990, 0.97), True, "MNIST test better"),
    (scores(0.999, 0.97 - WITHIN_THE_MARGIN), scores(0.990, 0.97), False, "slightly worse"),
    (scores(0.990, 0.97 + WITHIN_THE_MARGIN), scores(0.990, 0.97), False, "MNIST test no better"),
    (scores(0.990, 0.97), scores(0.990, 0.97), False, "MNIST test no better"),  # a full tie keeps the holder
    # Feedback on one side only is not compared: real pens judge.
    (scores(0.990, 0.98, 0.5), scores(0.990, 0.97), True, "real pens better by more"),
    # The synthetic drawn digits are never judged on.
    (scores(0.990, 0.97, synthetic=0.5), scores(0.990, 0.97, synthetic=0.99), False, "MNIST test no better"),
]


@pytest.mark.parametrize(("challenger", "holder", "expected", "why"), RULE)
def test_the_rule_decides_by_the_first_criterion_that_is_not_a_tie(challenger, holder, expected, why):
    verdict = judge(challenger, holder)
    assert verdict.won is expected
    assert all(word in verdict.why for word in why.split()), verdict.why
    assert wins(challenger, holder) is expected


def test_the_margin_is_the_real_pen_sets_sampling_error():
    # One standard error of an accuracy near 97 % on the 1,200 shipped digits.
    assert pytest.approx((0.97 * 0.03 / 1200) ** 0.5, abs=0.0005) == REAL_PEN_MARGIN


def test_select_best_lets_each_run_challenge_the_best_so_far():
    # Baseline reads real pens best but is 1.1 points behind on MNIST test: it is replaced.
    runs = [
        candidate("baseline", 0.980, 0.99),
        candidate("architecture", 0.991, 0.95),
        candidate("tuned", 0.9905, 0.97),
    ]
    assert select_best(runs).run_key == "tuned"


def test_select_best_keeps_the_earlier_run_on_a_tie():
    assert select_best([candidate("architecture", 0.990), candidate("tuned", 0.991)]).run_key == "tuned"
    assert select_best([candidate("architecture", 0.99), candidate("tuned", 0.99)]).run_key == "architecture"


def test_select_best_prefers_feedback_over_real_pens():
    runs = [candidate("baseline", 0.990, 0.99, 0.60), candidate("tuned", 0.990, 0.95, 0.75)]
    assert select_best(runs).run_key == "tuned"


def test_select_best_needs_a_finished_run():
    with pytest.raises(ValueError, match="no finished run"):
        select_best([])


def test_first_model_is_promoted():
    decision = decide(candidate("tuned", 0.99), None, force=False)
    assert decision.promote and "no version holds the alias" in decision.reason


def test_better_challenger_is_promoted_and_the_decision_says_why():
    decision = decide(candidate("tuned", 0.99, 0.98), Champion("3", scores(0.99, 0.96)), force=False)
    assert decision.promote and "beats version 3" in decision.reason
    assert "real pens better by more than 0.5 points" in decision.reason
    assert "MNIST test accuracy 0.9900, real-pen accuracy 0.9800" in decision.reason


@pytest.mark.parametrize("champion", [scores(0.99, 0.97), scores(0.999, 0.98)])
def test_equal_or_worse_challenger_keeps_the_champion(champion):
    decision = decide(candidate("tuned", 0.99, 0.97), Champion("3", champion), force=False)
    assert not decision.promote
    assert "version 3" in decision.reason and "stays" in decision.reason and "--force-promote" in decision.reason


def test_force_promotes_a_worse_challenger():
    decision = decide(candidate("tuned", 0.9), Champion("3", scores(0.99, 0.99)), force=True)
    assert decision.promote and "forced" in decision.reason


def test_champion_that_cannot_be_evaluated_is_replaced():
    decision = decide(candidate("tuned", 0.9), Champion("3", None), force=False)
    assert decision.promote and "could not be evaluated" in decision.reason


def test_the_decision_says_feedback_was_the_judge():
    champion = Champion("3", scores(0.99, 0.97, 0.90))
    decision = decide(candidate("tuned", 0.99, 0.97, 0.85), champion, force=False)
    assert not decision.promote
    assert "held-out feedback worse" in decision.reason and "feedback accuracy 0.8500" in decision.reason
