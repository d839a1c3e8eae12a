"""Plugin modules of this folder, imported as PyMoDAQ's plugin template does.

PyMoDAQ lists the plugins with ``pkgutil.iter_modules([path.parent])``, so this loop
must leave a module-level ``path``; without it PyMoDAQ finds none of the package's plugins.
"""

import importlib
from pathlib import Path

from pymodaq_utils.logger import get_module_name, set_logger

for path in Path(__file__).parent.iterdir():
    try:
        if "__init__" not in str(path) and path.suffix == ".py":
            importlib.import_module("." + path.stem, __package__)
    except Exception as error:  # a broken plugin must not hide the others
        set_logger(get_module_name(__file__)).warning(f"{path.stem} plugin unavailable: {error}")
