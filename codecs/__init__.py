"""Built-in codecs, one module per codec; importing this package registers every module in it."""

from ipr_bench.core.registry import import_plugins

import_plugins(__name__, __path__)
