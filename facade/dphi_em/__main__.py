"""``python -m dphi_em``: the ``dphi-em`` command line."""

import sys

from dphi_em.cli import main

if __name__ == "__main__":
    sys.exit(main())
