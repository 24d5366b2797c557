"""Stopping a training cleanly on Ctrl-C or ``docker stop`` (SIGTERM).

A signal handler that raises lands wherever Python happens to be: inside TensorFlow's graph
tracing it comes back as an unrelated error and the run ends FAILED. So the first signal only
asks for a stop, and the trainer raises ``KeyboardInterrupt`` itself at the next safe point
(the end of a training batch, or between steps). A second signal raises at once, for a trainer
stuck somewhere that never reaches a safe point.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

import keras

log = logging.getLogger(__name__)


class StopRequest:
    """Remembers a stop signal until the trainer reaches a point where it can stop cleanly."""

    def __init__(self) -> None:
        self.signal_number: int | None = None

    def install(self) -> None:
        """Handle SIGINT (Ctrl-C) and SIGTERM (``docker stop``) with this request."""
        signal.signal(signal.SIGINT, self.handle)
        signal.signal(signal.SIGTERM, self.handle)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: ask for a stop; a second signal stops at once."""
        if self.signal_number is not None:
            raise KeyboardInterrupt(f"signal {signum}, the second one")
        self.signal_number = signum
        log.warning(f"signal {signum}: stopping after the current batch (send it again to stop at once)")

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if a stop was asked for; call it where stopping is safe."""
        if self.signal_number is not None:
            raise KeyboardInterrupt(f"signal {self.signal_number}")

    def callback(self) -> keras.callbacks.Callback:
        """A Keras callback that checks for a stop after every training batch."""
        return _CheckAfterEachBatch(self)


class _CheckAfterEachBatch(keras.callbacks.Callback):
    def __init__(self, stop: StopRequest) -> None:
        super().__init__()
        self.stop = stop

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.stop.check()
