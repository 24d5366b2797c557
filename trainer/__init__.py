"""MNIST trainer: three tracked experiments, the best registered as ``Mnist_Best_Model@production``."""
