"""The stack on a real three-node Docker Swarm, deployed once for the module (devkit/swarm_stack.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.swarm_stack import SwarmStack, deployed_stack


@pytest.fixture(scope="module")
def swarm_stack(mnist_full: Path) -> Iterator[SwarmStack]:
    """Three engines, the stack deployed, converged, the trainer job's model served by every replica."""
    with deployed_stack(mnist_full) as stack:
        yield stack
