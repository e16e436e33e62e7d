"""``python -m tinytorch.tito ...``: the ``tito`` command without its console script."""

import sys

from tinytorch.tito.cli import main

sys.exit(main())
