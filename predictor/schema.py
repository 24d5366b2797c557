"""The prediction database's tables, as SQLAlchemy Core sees them (the migrations create them)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per answer. ``label`` is a person's correction (or confirmation); NULL until they give one.
predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("digit", sa.SmallInteger, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("probabilities", sa.JSON, nullable=False),
    sa.Column("input_pixels", sa.LargeBinary, nullable=False),
    sa.Column("image_format", sa.String(16), nullable=False),
    sa.Column("image_width", sa.Integer, nullable=False),
    sa.Column("image_height", sa.Integer, nullable=False),
    sa.Column("label", sa.SmallInteger, nullable=True),
    sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True, index=True),
)
