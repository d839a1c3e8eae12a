"""``python -m pymodaq_plugins_scopeone.simulator``: same as ``scopeone-sim``."""

import sys

from ._cli import main

sys.exit(main())
