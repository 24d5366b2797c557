"""The digit forms the synthetic drawings are drawn from, as data (trainer/datagen/handwriting.py draws them).

Each form (allograph) is a list of strokes; a stroke is a list of control points in a unit box
(x right, y down) that a smooth curve passes through, or a loop ``["ellipse", cx, cy, rx, ry]``.
``CORNER`` after a point makes the curve turn sharply there. The tables keep their hand layout
(one stroke per line where it fits), so each form can be read as the shape it draws.
"""

from __future__ import annotations

# A corner: the curve passes through the point twice, so it turns sharply there instead of rounding.
CORNER = None

# Allographs the synthetic training styles are drawn from: name -> strokes, each a list of control
# points in a unit box (x right, y down), or a loop ["ellipse", cx, cy, rx, ry]. A CORNER after a
# point makes the curve turn sharply there.
TRAINING_ALLOGRAPHS: dict[int, dict[str, list[list]]] = {
    0: {
        "plain": [["ellipse", 0.5, 0.5, 0.32, 0.46]],
        "narrow": [["ellipse", 0.5, 0.5, 0.22, 0.47]],
        "slashed": [["ellipse", 0.5, 0.5, 0.32, 0.46], [(0.18, 0.9), (0.82, 0.1)]],
    },
    1: {
        "plain": [[(0.5, 0.04), (0.5, 0.96)]],
        "flag": [[(0.28, 0.28), (0.52, 0.04), CORNER, (0.52, 0.96)]],
        "flag_and_base": [[(0.28, 0.28), (0.52, 0.04), CORNER, (0.52, 0.96)], [(0.25, 0.96), (0.8, 0.96)]],
        "steep_flag": [[(0.24, 0.46), (0.5, 0.04), CORNER, (0.5, 0.96)]],
        "up_stroke_flag": [[(0.08, 0.55), (0.3, 0.3), (0.58, 0.03), CORNER, (0.57, 0.35), (0.56, 0.66), (0.55, 0.97)]],
    },
    2: {
        "plain": [[(0.18, 0.25), (0.35, 0.06), (0.62, 0.05), (0.8, 0.22), (0.74, 0.45), (0.45, 0.7),
                   (0.18, 0.95), CORNER, (0.85, 0.95)]],
        "looped": [[(0.18, 0.25), (0.35, 0.06), (0.62, 0.05), (0.8, 0.22), (0.74, 0.45), (0.45, 0.7),
                    (0.22, 0.9), (0.2, 0.8), (0.32, 0.8), (0.45, 0.95), (0.85, 0.94)]],
        "angular": [[(0.22, 0.2), (0.5, 0.05), (0.76, 0.2), (0.7, 0.4), CORNER, (0.2, 0.96), CORNER, (0.84, 0.94)]],
    },
    3: {
        "plain": [[(0.18, 0.15), (0.45, 0.03), (0.74, 0.13), (0.72, 0.35), (0.45, 0.48), CORNER, (0.76, 0.6),
                   (0.8, 0.82), (0.52, 0.97), (0.18, 0.87)]],
        "flat_top": [[(0.18, 0.05), (0.8, 0.05), CORNER, (0.45, 0.42), CORNER, (0.76, 0.55), (0.82, 0.8),
                      (0.52, 0.97), (0.18, 0.87)]],
    },
    4: {
        "closed": [[(0.62, 0.04), (0.14, 0.66), CORNER, (0.86, 0.66)], [(0.64, 0.3), (0.64, 0.97)]],
        "open": [[(0.25, 0.04), (0.2, 0.6), CORNER, (0.86, 0.6)], [(0.66, 0.05), (0.66, 0.97)]],
        "open_one_stroke": [[(0.25, 0.04), (0.2, 0.6), CORNER, (0.72, 0.6), CORNER, (0.74, 0.08), CORNER,
                             (0.7, 0.97)]],
        # The open fours real pens are misread in: a tall left stroke slanting down from the top, a
        # rounded bottom, and a right stroke that starts low, or crosses the bottom from the top.
        "tall_left_one_stroke": [[(0.5, 0.03), (0.3, 0.35), (0.18, 0.68), (0.3, 0.8), (0.52, 0.7), (0.66, 0.48),
                                  CORNER, (0.63, 0.75), (0.6, 0.98)]],
        "tall_left_two_strokes": [[(0.5, 0.03), (0.3, 0.35), (0.17, 0.66), (0.3, 0.77), (0.6, 0.72), (0.84, 0.68)],
                                  [(0.7, 0.46), (0.68, 0.98)]],
        "tall_left_slanted_cross": [[(0.5, 0.03), (0.3, 0.3), (0.2, 0.55), (0.34, 0.64), (0.74, 0.56)],
                                    [(0.82, 0.32), (0.68, 0.48), (0.52, 0.74), (0.4, 0.98)]],
        "round_u_tall_right": [[(0.3, 0.05), (0.17, 0.5), (0.2, 0.8), (0.45, 0.88), (0.86, 0.8)],
                               [(0.6, 0.03), (0.6, 0.99)]],
        # Two more from the bug report: a right stroke that only starts at mid-height, and a bar
        # that crosses the left stroke with a short right stroke slanting through it.
        "tall_left_low_hook": [[(0.45, 0.03), (0.3, 0.4), (0.24, 0.72), (0.34, 0.84), (0.52, 0.78), (0.62, 0.56),
                                CORNER, (0.62, 0.8), (0.6, 0.98)]],
        "tall_left_long_bar": [[(0.48, 0.03), (0.32, 0.32), (0.26, 0.6)], [(0.08, 0.66), (0.45, 0.6), (0.9, 0.54)],
                               [(0.74, 0.34), (0.64, 0.62), (0.54, 0.98)]],
    },
    5: {
        "two_strokes": [[(0.3, 0.05), (0.26, 0.45), CORNER, (0.55, 0.37), (0.8, 0.55), (0.76, 0.82), (0.5, 0.97),
                         (0.18, 0.87)], [(0.3, 0.05), (0.82, 0.05)]],
        "one_stroke": [[(0.82, 0.05), (0.3, 0.05), CORNER, (0.26, 0.45), CORNER, (0.55, 0.37), (0.8, 0.55),
                        (0.76, 0.82), (0.5, 0.97), (0.18, 0.87)]],
    },
    6: {
        "plain": [[(0.72, 0.04), (0.42, 0.2), (0.22, 0.5), (0.22, 0.78), (0.45, 0.97), (0.74, 0.85), (0.76, 0.62),
                   (0.5, 0.5), (0.24, 0.64)]],
        "straight_back": [[(0.62, 0.03), (0.3, 0.45), (0.24, 0.78), (0.45, 0.97), (0.72, 0.86), (0.74, 0.62),
                           (0.5, 0.52), (0.27, 0.66)]],
    },
    7: {
        "plain": [[(0.14, 0.07), (0.86, 0.07), CORNER, (0.42, 0.97)]],
        "crossed": [[(0.14, 0.07), (0.86, 0.07), CORNER, (0.42, 0.97)], [(0.35, 0.52), (0.86, 0.5)]],
        "hooked": [[(0.14, 0.24), (0.14, 0.07), CORNER, (0.86, 0.07), CORNER, (0.42, 0.97)]],
        "curved_stem": [[(0.14, 0.07), (0.86, 0.07), CORNER, (0.6, 0.45), (0.45, 0.97)]],
        # The barred seven real pens are misread in: a round top like a two's, a stem sweeping down
        # and left, a bar below the middle that starts with a small hook.
        "round_top_barred": [[(0.22, 0.3), (0.26, 0.12), (0.45, 0.03), (0.66, 0.06), (0.74, 0.25), (0.7, 0.5),
                              (0.6, 0.76), (0.48, 0.97)], [(0.2, 0.74), (0.26, 0.64), (0.5, 0.61), (0.86, 0.59)]],
    },
    8: {
        "one_stroke": [[(0.62, 0.1), (0.5, 0.03), (0.3, 0.12), (0.32, 0.35), (0.5, 0.48), (0.74, 0.64),
                        (0.72, 0.9), (0.48, 0.98), (0.25, 0.86), (0.3, 0.62), (0.55, 0.45), (0.72, 0.28),
                        (0.66, 0.08), (0.55, 0.04)]],
        "two_loops": [["ellipse", 0.5, 0.26, 0.22, 0.23], ["ellipse", 0.5, 0.73, 0.28, 0.25]],
    },
    9: {
        "straight_tail": [[(0.74, 0.22), (0.52, 0.04), (0.26, 0.16), (0.28, 0.4), (0.52, 0.46), (0.74, 0.3),
                           (0.74, 0.2), CORNER, (0.72, 0.97)]],
        "curled_tail": [[(0.74, 0.22), (0.52, 0.04), (0.26, 0.16), (0.28, 0.4), (0.52, 0.46), (0.74, 0.3),
                         (0.74, 0.2), CORNER, (0.72, 0.7), (0.6, 0.94), (0.36, 0.96), (0.2, 0.82)]],
        "curved_tail": [[(0.74, 0.22), (0.52, 0.04), (0.26, 0.16), (0.28, 0.4), (0.52, 0.46), (0.74, 0.3),
                         (0.74, 0.2), CORNER, (0.66, 0.68), (0.45, 0.97)]],
        "g_hook": [[(0.78, 0.14), (0.62, 0.02), (0.44, 0.1), (0.44, 0.3), (0.62, 0.36), (0.78, 0.2), CORNER,
                    (0.77, 0.55), (0.7, 0.85), (0.5, 0.98), (0.22, 0.97), (0.05, 0.86)]],
        # A tail that runs straight down, then turns sharp left along a flat bottom.
        "flat_bottom_hook": [[(0.74, 0.2), (0.5, 0.05), (0.26, 0.12), (0.26, 0.35), (0.5, 0.42), (0.74, 0.3),
                              (0.74, 0.16), CORNER, (0.77, 0.6), (0.8, 0.9), CORNER, (0.22, 0.92), (0.16, 0.82)]],
    },
}  # fmt: skip

# The forms the bug report's pictures show people writing (trainer/datagen/handwriting.py draws
# them this many times as often as a plain form): MNIST has the plain forms, not these.
TRAINING_FORM_WEIGHTS: dict[tuple[int, str], int] = {
    (0, "slashed"): 2,
    (1, "up_stroke_flag"): 3,
    (1, "steep_flag"): 2,
    (4, "tall_left_one_stroke"): 2,
    (4, "tall_left_low_hook"): 2,
    (4, "tall_left_long_bar"): 2,
    (7, "round_top_barred"): 3,
    (9, "g_hook"): 2,
    (9, "curled_tail"): 2,
    (9, "flat_bottom_hook"): 2,
}


# The evaluation set's allographs, authored apart from the training ones: the same kinds of forms,
# drawn with other proportions, angles and strokes, so the set measures how the model generalises
# to forms it was not shown, not how well it remembers its training templates.
EVALUATION_ALLOGRAPHS: dict[int, dict[str, list[list]]] = {
    0: {
        "oval": [[(0.62, 0.04), (0.35, 0.06), (0.18, 0.35), (0.2, 0.75), (0.45, 0.97), (0.75, 0.85),
                  (0.82, 0.45), (0.7, 0.12), (0.55, 0.03)]],
        "slashed": [[(0.55, 0.05), (0.3, 0.1), (0.2, 0.45), (0.28, 0.85), (0.55, 0.96), (0.78, 0.75),
                     (0.8, 0.35), (0.62, 0.06), (0.52, 0.06)], [(0.86, 0.02), (0.14, 0.98)]],
        "open_loop": [[(0.68, 0.12), (0.45, 0.03), (0.22, 0.2), (0.18, 0.6), (0.38, 0.95), (0.68, 0.92),
                       (0.8, 0.55), (0.72, 0.22)]],
    },
    1: {
        "plain": [[(0.55, 0.02), (0.48, 0.98)]],
        "long_flag": [[(0.18, 0.42), (0.56, 0.03), CORNER, (0.56, 0.97)]],
        "flag_and_serif": [[(0.22, 0.3), (0.55, 0.02), CORNER, (0.55, 0.95)], [(0.3, 0.97), (0.78, 0.95)]],
    },
    2: {
        "curly": [[(0.25, 0.3), (0.22, 0.14), (0.42, 0.03), (0.66, 0.07), (0.76, 0.26), (0.6, 0.5), (0.32, 0.78),
                   (0.14, 0.97), CORNER, (0.9, 0.92)]],
        "z_like": [[(0.18, 0.16), (0.48, 0.03), (0.78, 0.14), (0.72, 0.34), CORNER, (0.18, 0.95), CORNER,
                    (0.86, 0.96)]],
    },
    3: {
        "round": [[(0.22, 0.18), (0.42, 0.04), (0.68, 0.07), (0.76, 0.24), (0.62, 0.42), (0.42, 0.49),
                   (0.64, 0.53), (0.8, 0.72), (0.7, 0.92), (0.42, 0.98), (0.18, 0.88)]],
        "flat_top": [[(0.14, 0.04), (0.84, 0.06), CORNER, (0.5, 0.4), CORNER, (0.8, 0.6), (0.74, 0.88), (0.45, 0.98),
                      (0.2, 0.9)]],
    },
    4: {
        "closed": [[(0.55, 0.02), (0.12, 0.7), CORNER, (0.9, 0.7)], [(0.7, 0.35), (0.7, 1.0)]],
        "open": [[(0.3, 0.02), (0.14, 0.62), CORNER, (0.9, 0.62)], [(0.72, 0.1), (0.66, 0.98)]],
        "open_one_stroke": [[(0.3, 0.04), (0.24, 0.56), CORNER, (0.66, 0.56), CORNER, (0.7, 0.02), CORNER,
                             (0.66, 0.96)]],
    },
    5: {
        "round_belly": [[(0.72, 0.04), (0.3, 0.06), CORNER, (0.25, 0.42), CORNER, (0.5, 0.35), (0.76, 0.45),
                         (0.82, 0.68), (0.68, 0.9), (0.42, 0.98), (0.16, 0.9)]],
        "bar_last": [[(0.28, 0.1), (0.25, 0.45), CORNER, (0.55, 0.4), (0.78, 0.6), (0.7, 0.88), (0.45, 0.97),
                      (0.2, 0.9)], [(0.32, 0.06), (0.78, 0.02)]],
    },
    6: {
        "low_loop": [[(0.68, 0.02), (0.35, 0.3), (0.2, 0.62), (0.3, 0.9), (0.55, 0.97), (0.75, 0.78), (0.6, 0.58),
                      (0.35, 0.62), (0.25, 0.75)]],
        "curly_top": [[(0.8, 0.12), (0.62, 0.02), (0.35, 0.15), (0.2, 0.5), (0.25, 0.85), (0.5, 0.98), (0.72, 0.8),
                       (0.65, 0.6), (0.42, 0.58), (0.26, 0.72)]],
    },
    7: {
        "plain": [[(0.18, 0.05), (0.82, 0.05), CORNER, (0.6, 0.98)]],
        "crossed": [[(0.12, 0.06), (0.88, 0.04), CORNER, (0.5, 0.98)], [(0.4, 0.58), (0.85, 0.58)]],
        "serif_top": [[(0.15, 0.18), (0.2, 0.05), CORNER, (0.88, 0.06), CORNER, (0.48, 0.98)]],
        "curved": [[(0.12, 0.1), (0.5, 0.05), (0.86, 0.08), CORNER, (0.62, 0.4), (0.5, 0.7), (0.46, 0.98)]],
    },
    8: {
        "figure_eight": [[(0.55, 0.04), (0.32, 0.1), (0.35, 0.32), (0.55, 0.46), (0.78, 0.62), (0.72, 0.9),
                          (0.45, 0.98), (0.22, 0.84), (0.32, 0.6), (0.55, 0.46), (0.7, 0.28), (0.62, 0.06),
                          (0.55, 0.04)]],
        "from_the_middle": [[(0.5, 0.48), (0.28, 0.3), (0.38, 0.06), (0.62, 0.06), (0.7, 0.28), (0.5, 0.48),
                             (0.25, 0.7), (0.38, 0.96), (0.68, 0.94), (0.76, 0.7), (0.52, 0.5)]],
    },
    9: {
        "g_tail": [[(0.72, 0.18), (0.48, 0.04), (0.25, 0.2), (0.35, 0.42), (0.6, 0.4), (0.74, 0.18), CORNER,
                    (0.76, 0.62), (0.66, 0.9), (0.45, 0.98), (0.25, 0.9), (0.22, 0.78)]],
        "stick": [[(0.76, 0.2), (0.55, 0.05), (0.3, 0.12), (0.28, 0.36), (0.5, 0.44), (0.75, 0.3), CORNER,
                   (0.76, 0.96)]],
        "curved_tail": [[(0.78, 0.18), (0.55, 0.03), (0.3, 0.14), (0.3, 0.38), (0.55, 0.42), (0.75, 0.25), CORNER,
                         (0.68, 0.6), (0.5, 0.85), (0.32, 0.97)]],
    },
}  # fmt: skip


# Forms neither set has, which the production model misreads: the closed loop's demonstration
# (benchmarks/flywheel.py). A two written like a crossed Z, and a seven whose foot hooks right.
UNSEEN_ALLOGRAPHS: dict[tuple[int, str], list[list]] = {
    (2, "crossed_z"): [[(0.15, 0.08), (0.85, 0.08), CORNER, (0.15, 0.92), CORNER, (0.85, 0.92)],
                      [(0.3, 0.5), (0.7, 0.5)]],
    (7, "hooked_foot"): [[(0.15, 0.05), (0.85, 0.05), CORNER, (0.45, 0.8), (0.5, 0.97), (0.7, 0.92)]],
}  # fmt: skip
