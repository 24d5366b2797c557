import pytest

from trainer.promotion import TEST_TOLERANCE, Candidate, Champion, Scores, decide, select_best, wins


def candidate(key: str, test: float, drawn: float = 0.9) -> Candidate:
    return Candidate(f"run-{key}", key, key.title(), Scores(test, drawn, "t", "d"), "models:/m-k", "models:/m-o")


def test_select_best_takes_the_best_drawn_accuracy_among_runs_close_on_mnist():
    runs = [candidate("baseline", 0.98, 0.99), candidate("architecture", 0.991, 0.95), candidate("tuned", 0.9905, 0.97)]
    # baseline reads drawings best but is 1.1 points behind on MNIST test: outside the tolerance.
    assert select_best(runs).run_key == "tuned"


def test_select_best_breaks_a_drawn_tie_on_test_accuracy_then_on_order():
    assert select_best([candidate("architecture", 0.990), candidate("tuned", 0.991)]).run_key == "tuned"
    assert select_best([candidate("architecture", 0.99), candidate("tuned", 0.99)]).run_key == "architecture"


def test_select_best_needs_a_finished_run():
    with pytest.raises(ValueError, match="no finished run"):
        select_best([])


@pytest.mark.parametrize(
    ("challenger", "holder", "expected"),
    [
        (Scores(0.990, 0.97), Scores(0.990, 0.96), True),  # better on drawings, same on MNIST
        (Scores(0.990 - TEST_TOLERANCE / 2, 0.97), Scores(0.990, 0.96), True),  # within the tolerance
        (Scores(0.990 - TEST_TOLERANCE * 2, 0.99), Scores(0.990, 0.96), False),  # too much worse on MNIST
        (Scores(0.991, 0.96), Scores(0.990, 0.96), True),  # same drawings, better MNIST
        (Scores(0.990, 0.96), Scores(0.990, 0.96), False),  # a tie keeps the holder
        (Scores(0.999, 0.95), Scores(0.990, 0.96), False),  # better MNIST cannot buy worse drawings
    ],
)
def test_wins_compares_drawn_digits_first_within_the_mnist_tolerance(challenger, holder, expected):
    assert wins(challenger, holder) is expected


def test_first_model_is_promoted():
    decision = decide(candidate("tuned", 0.99), None, force=False)
    assert decision.promote and "no version holds the alias" in decision.reason


def test_better_challenger_is_promoted():
    decision = decide(candidate("tuned", 0.99, 0.97), Champion("3", Scores(0.99, 0.96)), force=False)
    assert decision.promote and "beats version 3" in decision.reason
    assert "MNIST test accuracy 0.9900, drawn-digit accuracy 0.9700" in decision.reason


@pytest.mark.parametrize("champion", [Scores(0.99, 0.9), Scores(0.999, 0.95)])
def test_equal_or_worse_challenger_keeps_the_champion(champion):
    decision = decide(candidate("tuned", 0.99, 0.9), Champion("3", champion), force=False)
    assert not decision.promote
    assert "keeping it" in decision.reason and "--force-promote" in decision.reason


def test_force_promotes_a_worse_challenger():
    decision = decide(candidate("tuned", 0.9), Champion("3", Scores(0.99, 0.99)), force=True)
    assert decision.promote and "forced" in decision.reason


def test_champion_that_cannot_be_evaluated_is_replaced():
    decision = decide(candidate("tuned", 0.9), Champion("3", None), force=False)
    assert decision.promote and "could not be evaluated" in decision.reason


def people(test: float, drawn: float, feedback: float) -> Scores:
    return Scores(test, drawn, feedback_accuracy=feedback, feedback_digest="held-out")


@pytest.mark.parametrize(
    ("challenger", "holder", "expected"),
    [
        (people(0.990, 0.95, 0.80), people(0.990, 0.97, 0.70), True),  # feedback decides, not the drawn set
        (people(0.990 - TEST_TOLERANCE / 2, 0.96, 0.80), people(0.990, 0.96, 0.70), True),  # within the tolerance
        (people(0.990 - TEST_TOLERANCE * 2, 0.96, 0.99), people(0.990, 0.96, 0.70), False),  # worse on MNIST
        (people(0.999, 0.99, 0.70), people(0.990, 0.96, 0.70), False),  # equal feedback: the holder stays
        (people(0.999, 0.99, 0.69), people(0.990, 0.96, 0.70), False),  # better elsewhere, worse on people
    ],
)
def test_with_feedback_a_challenger_must_read_people_better_and_not_lose_mnist(challenger, holder, expected):
    assert wins(challenger, holder) is expected


def test_select_best_prefers_feedback_over_the_drawn_set():
    runs = [Candidate(key, key, key, people(0.990, drawn, feedback), "", "")
            for key, drawn, feedback in (("baseline", 0.99, 0.60), ("tuned", 0.95, 0.75))]  # fmt: skip
    assert select_best(runs).run_key == "tuned"


def test_the_decision_says_feedback_was_the_judge():
    champion = Champion("3", people(0.99, 0.97, 0.90))
    decision = decide(Candidate("r", "tuned", "Tuned", people(0.99, 0.97, 0.85), "", ""), champion, force=False)
    assert not decision.promote
    assert "people's feedback first" in decision.reason and "feedback accuracy 0.8500" in decision.reason
