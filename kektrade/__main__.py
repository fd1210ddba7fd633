"""``python -m kektrade``: the same as the ``kektrade`` command."""

import sys

from kektrade.cli import main

if __name__ == "__main__":
    sys.exit(main())
