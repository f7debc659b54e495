"""``python -m crmkit``: the ``crmkit`` command (extra ``cli``)."""

import sys

from .cli import main

sys.exit(main())
