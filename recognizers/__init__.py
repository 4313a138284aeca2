"""Built-in recognizers, one module per model family; importing this package registers every module in it."""

from ipr_bench.core.registry import import_plugins

import_plugins(__name__, __path__)
