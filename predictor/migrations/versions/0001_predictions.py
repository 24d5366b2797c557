"""The predictions table: every answer, and the label a person gave it.

The columns are written out, not imported from predictor/schema.py: a migration records the schema
as it was at its revision, and must not change when the live schema does.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the table and its two indexes (by time: retention and the trainer's split)."""
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_index("ix_predictions_labelled_at", "predictions", ["labelled_at"])


def downgrade() -> None:
    """Drop the table (and its indexes with it)."""
    op.drop_table("predictions")
