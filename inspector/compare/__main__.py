"""``python -m inspector.compare RUN_DIR [--json]``: the model against one capture run."""

from inspector.compare import main

raise SystemExit(main())
