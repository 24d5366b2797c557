"""Builds the Keras models described by ``trainer.experiments.ArchitectureSpec``."""

from __future__ import annotations

import keras

from trainer.experiments import ArchitectureSpec

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


LR_SCHEDULES = ("constant", "cosine")


def learning_rate_for(
    initial: float, schedule: str, steps_per_epoch: int, epochs: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's learning rate: ``initial`` throughout, or cosine-decayed to 0 by the last step."""
    if schedule == "constant":
        return initial
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(initial, decay_steps=max(1, steps_per_epoch * epochs))
    raise ValueError(f"unknown lr_schedule {schedule!r}; choose from {', '.join(LR_SCHEDULES)}")


def build_model(
    spec: ArchitectureSpec,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
    seed: int = 0,
) -> keras.Model:
    """Return a compiled CNN for 28x28x1 inputs in [0, 1] with a 10-way softmax output."""
    layers: list[keras.layers.Layer] = [keras.Input(shape=INPUT_SHAPE, name="image")]
    for filters in spec.conv_filters:
        layers.append(keras.layers.Conv2D(filters, spec.kernel_size, activation="relu"))
        layers.append(keras.layers.MaxPooling2D(2))
    layers.append(keras.layers.Flatten())
    if spec.dropout:
        layers.append(keras.layers.Dropout(spec.dropout, seed=seed))
    for units in spec.dense_units:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if spec.dropout:
            layers.append(keras.layers.Dropout(spec.dropout, seed=seed))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"))

    model = keras.Sequential(layers, name="mnist_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def describe_model(model: keras.Model) -> str:
    """The layer stack of a built model in one line, e.g. ``Conv2D(32,3x3,relu) > MaxPool(2) > ...``."""
    parts = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width = layer.kernel_size
            parts.append(f"Conv2D({layer.filters},{height}x{width},{layer.activation.__name__})")
        elif isinstance(layer, keras.layers.MaxPooling2D):
            parts.append(f"MaxPool({layer.pool_size[0]})")
        elif isinstance(layer, keras.layers.Dropout):
            parts.append(f"Dropout({layer.rate})")
        elif isinstance(layer, keras.layers.Dense):
            parts.append(f"Dense({layer.units},{layer.activation.__name__})")
        else:
            parts.append(type(layer).__name__)
    return " > ".join(parts)
