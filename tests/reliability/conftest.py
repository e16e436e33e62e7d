"""The reliability suite: bad or awkward input, tried as a new user would, on every backend.

Every test here runs once per backend (the ``backend`` fixture below). Bad input must give a
typed error, raised at the user's line, whose message names the op and the shapes involved:
``checks.user_error`` checks all three.
"""

from __future__ import annotations

import pytest

import tinytorch


@pytest.fixture(params=tinytorch.available_backends(), autouse=True)
def backend(request):
    """Run the test with each registered backend current."""
    with tinytorch.backend(request.param):
        yield request.param
