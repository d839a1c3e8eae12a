"""``python -m pymodaq_plugins_scopeone.demo``: same as ``scopeone-demo``."""

import sys

from ._cli import main

sys.exit(main())
