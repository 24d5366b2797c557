"""Training data pipeline, with augmentation that makes the model robust to canvas drawings.

People draw with a round pen of fixed width, often thicker (relative to the digit) than MNIST's
strokes, a little rotated or off-size. The predictor normalises every drawing to MNIST's 20x20 box
and centre of mass, so what is left to learn is stroke width and small geometric jitter. The
augmentation runs in the tf.data pipeline, outside the model: the logged and exported models are
plain CNNs that need no custom layers to load.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from trainer.experiments import AugmentationSpec


def thicken(images: tf.Tensor, probability: float) -> tf.Tensor:
    """Dilate the strokes of a random ``probability`` share of the images (3x3 grey dilation)."""
    dilated = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
    picked = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < probability
    return tf.where(picked, dilated, images)


def geometry_layers(spec: AugmentationSpec, seed: int) -> list[keras.layers.Layer]:
    """Random rotation and zoom, filling with black like MNIST's background."""
    layers: list[keras.layers.Layer] = []
    if spec.rotation_degrees:
        layers.append(keras.layers.RandomRotation(spec.rotation_degrees / 360.0, fill_mode="constant", seed=seed))
    if spec.zoom:
        layers.append(keras.layers.RandomZoom(spec.zoom, fill_mode="constant", seed=seed))
    return layers


def training_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, spec: AugmentationSpec, seed: int
) -> tf.data.Dataset:
    """Shuffled batches of ``(images, labels)``, augmented per ``spec`` afresh every epoch."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if spec.enabled:
        geometry = keras.Sequential(geometry_layers(spec, seed))

        def augment(batch: tf.Tensor, batch_labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            if spec.thicken:
                batch = thicken(batch, spec.thicken)
            if geometry.layers:
                batch = geometry(batch, training=True)
            return batch, batch_labels

        dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
