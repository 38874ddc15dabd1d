"""`python -m purity` is the `purity` command."""

import sys

from purity.tournament.cli import main

sys.exit(main())
