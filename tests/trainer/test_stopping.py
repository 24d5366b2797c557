"""The stop request: a signal asks, the trainer stops at the next batch; a second signal stops at once."""

import signal

import keras
import numpy as np
import pytest

from trainer.stopping import StopRequest


def test_a_first_signal_only_asks_and_check_then_raises():
    stop = StopRequest()
    stop.check()  # nothing asked yet
    stop.handle(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        stop.check()


def test_a_second_signal_raises_at_once():
    stop = StopRequest()
    stop.handle(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt, match="second"):
        stop.handle(signal.SIGINT, None)


def test_fit_stops_after_the_batch_in_which_the_stop_was_asked():
    stop = StopRequest()
    batches_seen: list[int] = []

    class AskOnThirdBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches_seen.append(batch)
            if batch == 2:
                stop.handle(signal.SIGTERM, None)

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.zeros((80, 4), "float32"), np.zeros(80, "int64")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[AskOnThirdBatch(), stop.callback()])
    assert batches_seen == [0, 1, 2]
