"""Predictions sent in the background while the swarm tests change the stack, and what became of them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

from devkit.swarm_stack import SEVEN_PNG


@dataclass
class Traffic:
    """Predictions sent in a background thread, round-robin over some nodes' pages, until stopped."""

    urls: list[str]
    answered: int = 0
    answers: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, prediction id)
    failed: list[str] = field(default_factory=list)
    last_failure: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Traffic:
        self._thread = threading.Thread(target=self._send, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)

    def _send(self) -> None:
        turn = 0
        while not self._stop.is_set():
            url = self.urls[turn % len(self.urls)]
            turn += 1
            try:
                answer = requests.post(
                    f"{url}/api/predict", data=SEVEN_PNG, headers={"Content-Type": "image/png"}, timeout=15
                )
                ok, why = answer.status_code == 200, f"{url}: HTTP {answer.status_code}"
            except requests.RequestException as exc:
                ok, why = False, f"{url}: {type(exc).__name__}"
            if ok:
                self.answered += 1
                self.answers.append((time.monotonic(), answer.json()["prediction_id"]))
            else:
                self.failed.append(why)
                self.last_failure = time.monotonic()
            time.sleep(0.1)
