"""The programs that make the drawn sets the trainer ships in ``trainer/data/`` (its data stage).

``python -m trainer.datagen.handwriting`` writes the synthetic drawn digits (the training styles and
the evaluation set); ``python -m trainer.datagen.real_pens`` draws UJI's real pens on the page's
canvas. Run them from the repository root: they preprocess every drawing with the predictor's own
code (``predictor/preprocess.py``), so a set holds exactly what the predictor would see. Training
only reads the files they wrote; this folder is not copied into the trainer's image.
"""
