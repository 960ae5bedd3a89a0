"""`python -m dphi_em_emulator --data-dir DIR --user client1:secret`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
