"""Predictor: a gunicorn + Flask API serving ``Mnist_Best_Model@production`` (ONNX, onnxruntime)."""
