"""Champion/challenger promotion of the best run to ``<model name>@<alias>`` in the MLflow registry.

Registry stages are deprecated in MLflow 3: the alias is what the predictor follows. Every best
run becomes a registered version (the registry is the history); only a version that wins the gate
against the current champion gets the alias, unless promotion is forced.

The rule, for choosing among a training's runs and for the gate alike: a model must not be more
than ``TEST_TOLERANCE`` worse on MNIST test than the other, and must read people better:
- with people's feedback (held-out labelled drawings from the prediction database, see
  trainer.feedback), it must be more accurate on it; equal is not enough, the holder stays;
- without feedback, it must read the drawn-digit set better; on the same drawn-digit accuracy,
  the better MNIST test accuracy wins.
Both models are measured on the same sets (same dataset digests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from trainer.tags import (
    DRAWN_ACCURACY_TAG,
    DRAWN_DIGEST_TAG,
    FEEDBACK_ACCURACY_TAG,
    FEEDBACK_DIGEST_TAG,
    ONNX_URI_TAG,
    RUN_KEY_TAG,
    STAGE_TAG,
    TEST_ACCURACY_TAG,
    TEST_DIGEST_TAG,
)

# How much less accurate on MNIST test a model may be and still win on drawn digits: 0.1 points,
# 10 of the 10,000 test digits (run-to-run noise of one training is about 5).
TEST_TOLERANCE = 0.001


@dataclass(frozen=True)
class Scores:
    """A model's accuracy on MNIST test, the drawn-digit set and people's feedback, with each set's digest.

    ``feedback_accuracy`` is None when there is no feedback to judge on.
    """

    test_accuracy: float
    drawn_accuracy: float
    test_digest: str = ""
    drawn_digest: str = ""
    feedback_accuracy: float | None = None
    feedback_digest: str = ""

    def same_sets(self, other: Scores) -> bool:
        """Whether both were measured on the same sets."""
        return (self.test_digest, self.drawn_digest, self.feedback_digest) == (
            other.test_digest,
            other.drawn_digest,
            other.feedback_digest,
        )


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
class PromotionResult:
    """What the registry looks like after promotion."""

    decision: Decision
    version: str
    alias_version: str | None


def wins(challenger: Scores, holder: Scores) -> bool:
    """Whether ``challenger`` beats ``holder`` by the rule in this module's docstring."""
    if challenger.test_accuracy < holder.test_accuracy - TEST_TOLERANCE:
        return False
    if challenger.feedback_accuracy is not None and holder.feedback_accuracy is not None:
        return challenger.feedback_accuracy > holder.feedback_accuracy
    if challenger.drawn_accuracy != holder.drawn_accuracy:
        return challenger.drawn_accuracy > holder.drawn_accuracy
    return challenger.test_accuracy > holder.test_accuracy


class Scored(Protocol):
    """Anything with scores: a candidate here, a run summary in the report."""

    @property
    def scores(self) -> Scores:
        """The two figures ``wins`` compares."""
        ...


ScoredT = TypeVar("ScoredT", bound=Scored)


def select_best(candidates: Sequence[ScoredT]) -> ScoredT:
    """The run that reads people best, among those within ``TEST_TOLERANCE`` of the best MNIST test accuracy.

    People: the held-out feedback when there is some, then the drawn-digit set. On a tie the better
    test accuracy wins, then the earlier (cheaper) run.
    """
    if not candidates:
        raise ValueError("no finished run to choose from")
    top = max(candidate.scores.test_accuracy for candidate in candidates)
    eligible = [c for c in candidates if c.scores.test_accuracy >= top - TEST_TOLERANCE]
    return max(
        eligible,
        key=lambda c: (c.scores.feedback_accuracy or 0.0, c.scores.drawn_accuracy, c.scores.test_accuracy),
    )


def describe(scores: Scores) -> str:
    """The figures in words."""
    words = f"MNIST test accuracy {scores.test_accuracy:.4f}, drawn-digit accuracy {scores.drawn_accuracy:.4f}"
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
    if wins(candidate.scores, champion.scores):
        return Decision(True, f"{mine} beats {theirs} on the same sets")
    people = "people's feedback" if candidate.scores.feedback_accuracy is not None else "drawn digits"
    return Decision(False, f"{theirs} is at least as good as {mine} on the same sets ({people} first, "
                           f"MNIST test within {TEST_TOLERANCE * 100:.1f} points); keeping it "
                           "(use --force-promote to override)")  # fmt: skip


def recorded_scores(tags: dict[str, str]) -> Scores | None:
    """The scores a version's tags record (``register_and_promote`` writes them), or None if incomplete."""
    if TEST_ACCURACY_TAG not in tags or DRAWN_ACCURACY_TAG not in tags:
        return None
    feedback = tags.get(FEEDBACK_ACCURACY_TAG)
    return Scores(
        float(tags[TEST_ACCURACY_TAG]),
        float(tags[DRAWN_ACCURACY_TAG]),
        tags.get(TEST_DIGEST_TAG, ""),
        tags.get(DRAWN_DIGEST_TAG, ""),
        float(feedback) if feedback else None,
        tags.get(FEEDBACK_DIGEST_TAG, ""),
    )


def current_champion(
    client: MlflowClient,
    model_name: str,
    alias: str,
    sets: Scores,
    evaluate: Callable[[str], Scores],
) -> Champion | None:
    """Find the version holding ``alias`` and its scores on the sets whose digests ``sets`` names.

    Scores recorded on the same sets (same digests) are reused; otherwise ``evaluate`` is given the
    champion's model URI to measure them afresh. ``None`` when no version holds the alias.
    """
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise
    if (recorded := recorded_scores(version.tags)) is not None and recorded.same_sets(sets):
        return Champion(version.version, recorded)
    try:
        return Champion(version.version, evaluate(f"models:/{model_name}/{version.version}"))
    except Exception as exc:  # noqa: BLE001 - a broken champion must not block a good challenger
        print(f"  could not evaluate champion version {version.version}: {exc}")
        return Champion(version.version, None)


def feedback_tags(scores: Scores) -> dict[str, str]:
    """The feedback figure and its set's digest as tags (none without feedback)."""
    if scores.feedback_accuracy is None:
        return {}
    return {FEEDBACK_ACCURACY_TAG: f"{scores.feedback_accuracy:.6f}", FEEDBACK_DIGEST_TAG: scores.feedback_digest}


def register_and_promote(
    client: MlflowClient,
    candidate: Candidate,
    model_name: str,
    alias: str,
    force: bool,
    evaluate: Callable[[str], Scores],
) -> PromotionResult:
    """Register ``candidate`` as a new version and move ``alias`` to it if it wins.

    Tags that the predictor needs (the ONNX URI) are written before the alias moves, so a version
    is never served half-described.
    """
    scores = candidate.scores
    champion = current_champion(client, model_name, alias, scores, evaluate)
    decision = decide(candidate, champion, force)
    version: ModelVersion = mlflow.register_model(
        candidate.keras_uri,
        model_name,
        tags={
            ONNX_URI_TAG: candidate.onnx_uri,
            TEST_ACCURACY_TAG: f"{scores.test_accuracy:.6f}",
            TEST_DIGEST_TAG: scores.test_digest,
            DRAWN_ACCURACY_TAG: f"{scores.drawn_accuracy:.6f}",
            DRAWN_DIGEST_TAG: scores.drawn_digest,
            RUN_KEY_TAG: candidate.run_key,
            "promotion": decision.reason,
            **feedback_tags(scores),
        },
    )
    reason = decision.reason[:1].upper() + decision.reason[1:]
    description = f"{candidate.title}: {describe(scores)}. {reason}."
    client.update_model_version(model_name, version.version, description=description)
    if not decision.promote:
        client.set_model_version_tag(model_name, version.version, STAGE_TAG, "Challenger")
        return PromotionResult(decision, version.version, champion.version if champion else None)
    client.set_model_version_tag(model_name, version.version, STAGE_TAG, "Production")
    client.set_registered_model_alias(model_name, alias, version.version)
    if champion is not None and champion.version != version.version:
        client.set_model_version_tag(model_name, champion.version, STAGE_TAG, "Archived")
    return PromotionResult(decision, version.version, version.version)
