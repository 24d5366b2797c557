import pytest

from trainer.promotion import Candidate, Champion, decide, select_best


def candidate(key: str, accuracy: float) -> Candidate:
    return Candidate(f"run-{key}", key, key.title(), accuracy, "digest", "models:/m-k", "models:/m-o")


def test_select_best_takes_the_highest_test_accuracy():
    runs = [candidate("baseline", 0.97), candidate("architecture", 0.991), candidate("tuned", 0.989)]
    assert select_best(runs).run_key == "architecture"


def test_select_best_prefers_the_earlier_run_on_a_tie():
    runs = [candidate("architecture", 0.99), candidate("tuned", 0.99)]
    assert select_best(runs).run_key == "architecture"


def test_select_best_needs_a_finished_run():
    with pytest.raises(ValueError, match="no finished run"):
        select_best([])


def test_first_model_is_promoted():
    decision = decide(candidate("tuned", 0.99), None, force=False)
    assert decision.promote and "no version holds the alias" in decision.reason


def test_better_challenger_is_promoted():
    decision = decide(candidate("tuned", 0.995), Champion("3", 0.99), force=False)
    assert decision.promote and "beats version 3" in decision.reason


@pytest.mark.parametrize("champion_accuracy", [0.99, 0.999])
def test_equal_or_worse_challenger_keeps_the_champion(champion_accuracy):
    decision = decide(candidate("tuned", 0.99), Champion("3", champion_accuracy), force=False)
    assert not decision.promote
    assert "keeping it" in decision.reason and "--force-promote" in decision.reason


def test_force_promotes_a_worse_challenger():
    decision = decide(candidate("tuned", 0.9), Champion("3", 0.99), force=True)
    assert decision.promote and "forced" in decision.reason


def test_champion_that_cannot_be_evaluated_is_replaced():
    decision = decide(candidate("tuned", 0.9), Champion("3", None), force=False)
    assert decision.promote and "could not be evaluated" in decision.reason
