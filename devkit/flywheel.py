"""The closed loop as a person drives it through the page's API: predict drawings, correct them, measure.

Used by the stack's end-to-end test and by benchmarks/flywheel.py. ``frontend`` is the page's
address (nginx), so every request takes the path a person's browser takes (/api/...).
"""

from __future__ import annotations

import requests

from devkit.drawing import png_bytes
from devkit.handwriting import Drawing


def predict(frontend: str, drawing: Drawing) -> dict:
    """The API's answer for one drawing, sent as the page sends it (multipart PNG)."""
    answer = requests.post(f"{frontend}/api/predict", files={"image": ("digit.png", png_bytes(drawing.image),
                           "image/png")}, timeout=30)  # fmt: skip
    answer.raise_for_status()
    return answer.json()


def accuracy(frontend: str, drawings: list[Drawing]) -> tuple[float, set[str]]:
    """The share of ``drawings`` read right, and the model versions that answered."""
    answers = [predict(frontend, drawing) for drawing in drawings]
    right = sum(answer["digit"] == drawing.label for answer, drawing in zip(answers, drawings, strict=True))
    return right / len(drawings), {answer["model"]["version"] for answer in answers}


def correct(frontend: str, drawings: list[Drawing]) -> int:
    """Predict each drawing and answer the page's "Right?" with its true digit; returns how many were wrong."""
    wrong = 0
    for drawing in drawings:
        answer = predict(frontend, drawing)
        wrong += answer["digit"] != drawing.label
        feedback = requests.post(f"{frontend}/api/feedback", json={"prediction_id": answer["prediction_id"],
                                 "label": drawing.label}, timeout=30)  # fmt: skip
        if feedback.status_code not in (200, 201):
            raise RuntimeError(f"feedback refused: HTTP {feedback.status_code} {feedback.text}")
    return wrong
