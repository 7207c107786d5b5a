"""``python -m overcast.hostagents.objectnode --root DIR --port P --secret-file F``."""

from __future__ import annotations

import sys

from .server import main

sys.exit(main())
