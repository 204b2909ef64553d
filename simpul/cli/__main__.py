"""``python -m simpul.cli``: the same command as the ``simpul`` script."""

import sys

from simpul.cli import main

sys.exit(main())
