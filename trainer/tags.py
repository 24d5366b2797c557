"""Names of the tags (and artifacts) the trainer writes on runs and versions, read back by the report.

Kept apart from the modules that write them so reading them needs no TensorFlow. The predictor,
a separate service, names ``onnx_model_uri`` itself (predictor/registry.py).
"""

REASON_TAG = "reason"  # run: why the run exists
RUN_KEY_TAG = "run_key"  # run: baseline, architecture or tuned
ONNX_URI_TAG = "onnx_model_uri"  # run and version: the ONNX model logged beside the Keras one
TEST_ACCURACY_TAG = "test_accuracy"  # version: accuracy on the test set named by the digest below
TEST_DIGEST_TAG = "test_set_digest"  # run and version: which test set the accuracy is on
REAL_PEN_ACCURACY_TAG = "real_pen_accuracy"  # version: accuracy on real people's pen-drawn digits (UJI)
REAL_PEN_DIGEST_TAG = "real_pen_set_digest"  # run and version: which real-pen set the accuracy is on
SYNTHETIC_DRAWN_ACCURACY_TAG = "synthetic_drawn_accuracy"  # version: accuracy on the synthetic drawn-digit set
SYNTHETIC_DRAWN_DIGEST_TAG = "synthetic_drawn_set_digest"  # run and version: which synthetic set it is on
FEEDBACK_ACCURACY_TAG = "feedback_accuracy"  # version: accuracy on people's held-out labelled drawings
FEEDBACK_DIGEST_TAG = "feedback_set_digest"  # run and version: which held-out feedback (absent: none)
STAGE_TAG = "stage"  # version: Production, Challenger or Archived (aliases do the serving)

REAL_PENS_ARTIFACT = "real_pens/accuracy.json"  # run: real-pen accuracy per digit and the confusions
