"""``python -m inspector``: the ``mm-inspector`` command."""

import sys

from inspector.entry import main

sys.exit(main())
