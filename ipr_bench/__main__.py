"""``python -m ipr_bench`` = the ``ipr-bench`` command."""

from ipr_bench.cli import main

main()
