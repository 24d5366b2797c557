"""MNIST trainer: three tracked experiments, the best registered as ``Mnist_Best_Model@production``."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) buries the training progress a person
# wants to follow; warnings and errors still show. An explicit setting by the user wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
