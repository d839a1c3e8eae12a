"""``python -m pymodaq_plugins_scopeone.agent``: the same as ``scopeone-agent``."""

import sys

from ._cli import main

sys.exit(main())
