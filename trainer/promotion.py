"""Champion/challenger promotion of the best run to ``<model name>@<alias>`` in the MLflow registry.

Registry stages are deprecated in MLflow 3: the alias is what the predictor follows. Every best
run becomes a registered version (the registry is the history); only a version that wins the gate
against the current champion gets the alias, unless promotion is forced. The rule is in
trainer/gate.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from trainer.gate import Candidate, Champion, Decision, Scores, decide, describe
from trainer.tags import (
    FEEDBACK_ACCURACY_TAG,
    FEEDBACK_DIGEST_TAG,
    ONNX_URI_TAG,
    REAL_PEN_ACCURACY_TAG,
    REAL_PEN_DIGEST_TAG,
    RUN_KEY_TAG,
    STAGE_TAG,
    SYNTHETIC_DRAWN_ACCURACY_TAG,
    SYNTHETIC_DRAWN_DIGEST_TAG,
    TEST_ACCURACY_TAG,
    TEST_DIGEST_TAG,
)
from trainer.tracking import is_not_found

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionResult:
    """What the registry looks like after promotion."""

    decision: Decision
    version: str
    alias_version: str | None


def recorded_scores(tags: dict[str, str]) -> Scores | None:
    """The scores a version's tags record (``register_and_promote`` writes them), or None if incomplete."""
    if any(tag not in tags for tag in (TEST_ACCURACY_TAG, REAL_PEN_ACCURACY_TAG, SYNTHETIC_DRAWN_ACCURACY_TAG)):
        return None  # e.g. a version registered before real pens were measured: evaluate it afresh
    feedback = tags.get(FEEDBACK_ACCURACY_TAG)
    return Scores(
        test_accuracy=float(tags[TEST_ACCURACY_TAG]),
        real_pen_accuracy=float(tags[REAL_PEN_ACCURACY_TAG]),
        synthetic_drawn_accuracy=float(tags[SYNTHETIC_DRAWN_ACCURACY_TAG]),
        test_digest=tags.get(TEST_DIGEST_TAG, ""),
        real_pen_digest=tags.get(REAL_PEN_DIGEST_TAG, ""),
        synthetic_drawn_digest=tags.get(SYNTHETIC_DRAWN_DIGEST_TAG, ""),
        feedback_accuracy=float(feedback) if feedback else None,
        feedback_digest=tags.get(FEEDBACK_DIGEST_TAG, ""),
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
        if is_not_found(exc):
            return None
        raise
    if (recorded := recorded_scores(version.tags)) is not None and recorded.same_sets(sets):
        return Champion(version.version, recorded)
    try:
        return Champion(version.version, evaluate(f"models:/{model_name}/{version.version}"))
    except Exception as exc:  # noqa: BLE001 - a broken champion must not block a good challenger
        log.warning(f"  could not evaluate champion version {version.version}: {exc}")
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
            REAL_PEN_ACCURACY_TAG: f"{scores.real_pen_accuracy:.6f}",
            REAL_PEN_DIGEST_TAG: scores.real_pen_digest,
            SYNTHETIC_DRAWN_ACCURACY_TAG: f"{scores.synthetic_drawn_accuracy:.6f}",
            SYNTHETIC_DRAWN_DIGEST_TAG: scores.synthetic_drawn_digest,
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
