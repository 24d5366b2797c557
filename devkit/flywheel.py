"""The closed loop as a person drives it through the page's API: predict drawings, correct them, measure.

Used by the stack's end-to-end test and by benchmarks/flywheel.py. ``frontend`` is the page's
address (nginx), so every request takes the path a person's browser takes (/api/...).
"""

from __future__ import annotations

import requests

from devkit.drawing import png_bytes
from devkit.processes import wait_until
from trainer.datagen.allographs import UNSEEN_ALLOGRAPHS
from trainer.datagen.handwriting import Drawing, style_drawings

FRESH_SEED, SENT_SEED = 1001, 2002  # different writers for the drawings sent and those measured


def flywheel_drawings(sent: int, fresh: int) -> tuple[list[Drawing], dict[tuple[int, str], list[Drawing]]]:
    """``sent`` drawings of each unseen form, interleaved, and ``fresh`` other ones of each form to measure on.

    Interleaved as people send them over time, so the trainer's later, held-out part has every form.
    """
    forms = list(UNSEEN_ALLOGRAPHS)
    per_form = [style_drawings(*form, sent, SENT_SEED + i) for i, form in enumerate(forms)]
    interleaved = [drawing for group in zip(*per_form, strict=True) for drawing in group]
    return interleaved, {form: style_drawings(*form, fresh, FRESH_SEED + i) for i, form in enumerate(forms)}


def served_versions(frontend: str) -> set[str | None]:
    """The model versions ten ``/api/model`` answers in a row name (None: no model).

    Each gunicorn worker follows the registry on its own: right after a promotion they may differ.
    """
    answers = [requests.get(f"{frontend}/api/model", timeout=10) for _ in range(10)]
    return {answer.json().get("version") if answer.ok else None for answer in answers}


def wait_for_version(frontend: str, version: str, timeout: float = 180) -> None:
    """Wait until every worker serves ``version``."""
    wait_until(lambda: served_versions(frontend) == {version}, timeout, f"version {version} served through {frontend}")


def predict(frontend: str, drawing: Drawing) -> dict:
    """The API's answer for one drawing, sent as the page sends it (multipart PNG)."""
    answer = requests.post(
        f"{frontend}/api/predict", files={"image": ("digit.png", png_bytes(drawing.image), "image/png")}, timeout=30
    )
    answer.raise_for_status()
    return answer.json()


def accuracy(frontend: str, drawings: list[Drawing]) -> float:
    """The share of ``drawings`` read right."""
    right = sum(predict(frontend, drawing)["digit"] == drawing.label for drawing in drawings)
    return right / len(drawings)


def correct(frontend: str, drawings: list[Drawing]) -> int:
    """Predict each drawing and answer the page's "Right?" with its true digit; returns how many were wrong."""
    wrong = 0
    for drawing in drawings:
        answer = predict(frontend, drawing)
        wrong += answer["digit"] != drawing.label
        feedback = requests.post(
            f"{frontend}/api/feedback",
            json={"prediction_id": answer["prediction_id"], "label": drawing.label},
            timeout=30,
        )
        if feedback.status_code not in (200, 201):
            raise RuntimeError(f"feedback refused: HTTP {feedback.status_code} {feedback.text}")
    return wrong
