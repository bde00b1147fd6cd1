"""`python -m baychain` runs the command line."""

import sys

from baychain.cli import main

sys.exit(main())
