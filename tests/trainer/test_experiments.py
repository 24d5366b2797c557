from collections import Counter

import keras
import pytest

from trainer.experiments import ARCHITECTURE, BASELINE, DEFAULT_RUNS, TUNED, select_runs
from trainer.models import build_model, describe_model


def layer_counts(run) -> Counter:
    model = build_model(run.architecture, run.learning_rate)
    return Counter(type(layer).__name__ for layer in model.layers)


def test_baseline_is_one_conv2d_and_one_dense_without_dropout():
    counts = layer_counts(BASELINE)
    assert counts["Conv2D"] == 1
    assert counts["Dense"] == 1
    assert counts["Dropout"] == 0
    assert BASELINE.epochs <= 3, "the baseline is a cheap reference point"


def test_architecture_run_has_more_filters_and_dropout():
    counts = layer_counts(ARCHITECTURE)
    assert sum(ARCHITECTURE.architecture.conv_filters) > sum(BASELINE.architecture.conv_filters)
    assert counts["Conv2D"] >= 1
    assert counts["Dropout"] >= 1


def test_tuned_run_keeps_the_architecture_and_changes_lr_or_batch():
    assert TUNED.architecture == ARCHITECTURE.architecture
    assert (TUNED.learning_rate, TUNED.batch_size) != (ARCHITECTURE.learning_rate, ARCHITECTURE.batch_size)


def test_every_run_states_why_it_exists_and_has_a_unique_key():
    assert len({run.key for run in DEFAULT_RUNS}) == 3
    assert all(len(run.reason) > 40 for run in DEFAULT_RUNS)


def test_models_map_28x28_images_to_10_probabilities():
    model = build_model(ARCHITECTURE.architecture, 1e-3)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_hyperparameters_are_flat():
    params = TUNED.hyperparameters()
    assert params["batch_size"] == TUNED.batch_size
    assert params["learning_rate"] == TUNED.learning_rate
    assert all(isinstance(value, str | int | float | bool) for value in params.values())


def test_the_architecture_is_described_from_the_built_model():
    described = describe_model(build_model(TUNED.architecture, 1e-3))
    assert described == (
        "Conv2D(32,3x3,relu) > MaxPool(2) > Conv2D(64,3x3,relu) > MaxPool(2) > Flatten > Dropout(0.3) "
        "> Dense(128,relu) > Dropout(0.3) > Dense(10,softmax)"
    )


def test_select_runs_filters_keeps_order_and_overrides_epochs():
    runs = select_runs(["tuned", "baseline"], epochs_override=1)
    assert [run.key for run in runs] == ["baseline", "tuned"]
    assert all(run.epochs == 1 for run in runs)
    assert [run.key for run in select_runs(None, None)] == ["baseline", "architecture", "tuned"]


def test_select_runs_rejects_unknown_keys_naming_the_valid_ones():
    with pytest.raises(ValueError, match="baseline, architecture, tuned"):
        select_runs(["nope"], None)


def test_cosine_schedule_decays_to_zero_and_constant_stays():
    from trainer.models import learning_rate_for

    assert learning_rate_for(1e-3, "constant", 100, 5) == 1e-3
    schedule = learning_rate_for(3e-3, "cosine", 100, 5)
    assert float(schedule(0)) == pytest.approx(3e-3)
    assert float(schedule(500)) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="constant, cosine"):
        learning_rate_for(1e-3, "step", 100, 5)


def test_all_runs_share_the_canvas_augmentation():
    assert len({run.augmentation for run in DEFAULT_RUNS}) == 1
    assert DEFAULT_RUNS[0].augmentation.enabled


def test_augmented_batches_keep_shape_range_and_labels():
    import numpy as np

    from trainer.augment import thicken, training_dataset

    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 10:18, 13:15] = 1.0  # a vertical stroke, two pixels wide
    labels = np.arange(64) % 10
    spec = DEFAULT_RUNS[0].augmentation
    batches = list(training_dataset(images, labels, 32, spec, seed=1))
    assert [batch[0].shape for batch in batches] == [(32, 28, 28, 1)] * 2
    augmented = np.concatenate([batch[0].numpy() for batch in batches])
    assert augmented.min() >= 0 and augmented.max() <= 1.0001
    assert sorted(np.concatenate([batch[1].numpy() for batch in batches])) == sorted(labels)
    thick = thicken(images, probability=1.0).numpy()
    assert (thick > 0.5).sum() > (images > 0.5).sum(), "dilation widens strokes"
    np.testing.assert_array_equal(thicken(images, probability=0.0).numpy(), images)
