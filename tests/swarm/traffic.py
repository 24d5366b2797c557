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
    answers: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, prediction id)
    failures: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, what went wrong)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def answered(self) -> int:
        """How many predictions were answered."""
        return len(self.answers)

    @property
    def failed(self) -> list[str]:
        """What went wrong with each prediction that failed, in order."""
        return [why for _, why in self.failures]

    @property
    def last_failure(self) -> float:
        """When the last prediction failed (monotonic time; 0 when none did)."""
        return self.failures[-1][0] if self.failures else 0.0

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
                self.answers.append((time.monotonic(), answer.json()["prediction_id"]))
            else:
                self.failures.append((time.monotonic(), why))
            time.sleep(0.1)
