"""``python -m pymodaq_plugins_scopeone.bench``: see ``scopeone-bench --help``."""

import sys

from ._cli import main

sys.exit(main())
