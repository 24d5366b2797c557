"""The champion/challenger rule: which of two models is better, decided from their scores alone.

No MLflow here: trainer/promotion.py applies the decision to the registry, and the report and the
training's choice among its runs (``select_best``) use the same rule.

The rule, for choosing among a training's runs and for the gate alike (``wins``):
1. A challenger more than ``TEST_TOLERANCE`` worse on MNIST test than the holder loses.
2. People's feedback (held-out labelled drawings from the prediction database, trainer.feedback),
   when both were measured on it: the more accurate model wins; a tie goes on to 3.
3. Real pens (UJI, 1,200 digits by 60 writers): a difference larger than ``REAL_PEN_MARGIN``, the
   set's sampling error, decides; a smaller one is a tie and goes on to 4.
4. MNIST test: a challenger that reads real pens at least as well and MNIST test better wins;
   otherwise the holder stays.
The synthetic drawn-digit set is measured and shown, never judged on: it did not predict how
real handwriting is read. Both models are measured on the same sets (same dataset digests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

# How much less accurate on MNIST test a model may be and still win on people: 0.1 points,
# 10 of the 10,000 test digits (run-to-run noise of one training is about 5).
TEST_TOLERANCE = 0.001
# The real-pen set's sampling error: one standard error of an accuracy near 97 % on 1,200 digits,
# sqrt(0.97 * 0.03 / 1200) = 0.49 points. A smaller difference between two models is noise.
REAL_PEN_MARGIN = 0.005


@dataclass(frozen=True)
class Scores:
    """A model's accuracy on each evaluation set, with each set's digest.

    ``feedback_accuracy`` is None when there is no feedback to judge on.
    """

    test_accuracy: float
    real_pen_accuracy: float
    synthetic_drawn_accuracy: float = float("nan")
    test_digest: str = ""
    real_pen_digest: str = ""
    synthetic_drawn_digest: str = ""
    feedback_accuracy: float | None = None
    feedback_digest: str = ""

    def same_sets(self, other: Scores) -> bool:
        """Whether both were measured on the same sets."""
        return self.digests() == other.digests()

    def digests(self) -> tuple[str, str, str, str]:
        """The digests of the sets these figures are on."""
        return self.test_digest, self.real_pen_digest, self.synthetic_drawn_digest, self.feedback_digest


@dataclass(frozen=True)
class Candidate:
    """A finished run that may be promoted."""

    run_id: str
    run_key: str
    title: str
    scores: Scores
    keras_uri: str
    onnx_uri: str


@dataclass(frozen=True)
class Champion:
    """The version currently holding the alias, with its scores on the candidate's sets."""

    version: str
    scores: Scores | None  # None: it could not be evaluated on these sets


@dataclass(frozen=True)
class Decision:
    """Whether to move the alias, and the sentence that explains why."""

    promote: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    """Whether the challenger wins, and the criterion that decided it, in words."""

    won: bool
    why: str


def judge(challenger: Scores, holder: Scores) -> Verdict:
    """Compare ``challenger`` with ``holder`` by the rule in this module's docstring."""
    tolerance = f"{TEST_TOLERANCE * 100:.1f}"
    if challenger.test_accuracy < holder.test_accuracy - TEST_TOLERANCE:
        return Verdict(False, f"it is more than {tolerance} points worse on MNIST test")
    feedback = (challenger.feedback_accuracy, holder.feedback_accuracy)
    if None not in feedback and feedback[0] != feedback[1]:
        better = feedback[0] > feedback[1]
        return Verdict(better, f"it reads people's held-out feedback {'better' if better else 'worse'}")
    margin = f"{REAL_PEN_MARGIN * 100:.1f}"
    real_pens = challenger.real_pen_accuracy - holder.real_pen_accuracy
    if abs(real_pens) > REAL_PEN_MARGIN:
        better = real_pens > 0
        return Verdict(better, f"it reads real pens {'better' if better else 'worse'} by more than {margin} points")
    if real_pens < 0:
        return Verdict(False, f"it reads real pens slightly worse (within {margin} points)")
    if challenger.test_accuracy > holder.test_accuracy:
        return Verdict(True, f"it reads real pens as well (within {margin} points) and MNIST test better")
    return Verdict(False, f"it reads real pens as well (within {margin} points) and MNIST test no better")


def wins(challenger: Scores, holder: Scores) -> bool:
    """Whether ``challenger`` beats ``holder`` (``judge``'s verdict)."""
    return judge(challenger, holder).won


class Scored(Protocol):
    """Anything with scores: a candidate here, a run summary in the report."""

    @property
    def scores(self) -> Scores:
        """The two figures ``wins`` compares."""
        ...


ScoredT = TypeVar("ScoredT", bound=Scored)


def select_best(candidates: Sequence[ScoredT]) -> ScoredT:
    """The best of a training's runs.

    Only runs within ``TEST_TOLERANCE`` of the best MNIST test accuracy are eligible; taken in
    order, each replaces the best so far when it ``wins``, so a tie keeps the earlier (cheaper) run.
    """
    if not candidates:
        raise ValueError("no finished run to choose from")
    top = max(candidate.scores.test_accuracy for candidate in candidates)
    eligible = [c for c in candidates if c.scores.test_accuracy >= top - TEST_TOLERANCE]
    best = eligible[0]
    for candidate in eligible[1:]:
        if wins(candidate.scores, best.scores):
            best = candidate
    return best


def describe(scores: Scores) -> str:
    """The figures in words."""
    words = (
        f"MNIST test accuracy {scores.test_accuracy:.4f}, real-pen accuracy {scores.real_pen_accuracy:.4f}, "
        f"synthetic drawn-digit accuracy {scores.synthetic_drawn_accuracy:.4f}"
    )
    if scores.feedback_accuracy is not None:
        words += f", feedback accuracy {scores.feedback_accuracy:.4f}"
    return words


def decide(candidate: Candidate, champion: Champion | None, force: bool) -> Decision:
    """The champion/challenger gate: promote only a model that wins by the rule, unless forced."""
    mine = f"{candidate.run_key} ({describe(candidate.scores)})"
    if champion is None:
        return Decision(True, f"no version holds the alias yet; promoting {mine}")
    if force:
        return Decision(True, f"forced promotion of {mine} over version {champion.version}")
    if champion.scores is None:
        return Decision(True, f"version {champion.version} could not be evaluated on these sets; promoting {mine}")
    theirs = f"version {champion.version} ({describe(champion.scores)})"
    verdict = judge(candidate.scores, champion.scores)
    if verdict.won:
        return Decision(True, f"{mine} beats {theirs} on the same sets: {verdict.why}")
    return Decision(
        False,
        f"{theirs} stays: {mine} does not beat it on the same sets, {verdict.why} (use --force-promote to override)",
    )
