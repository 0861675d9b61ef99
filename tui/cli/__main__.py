"""`python -m tui.cli ...` is the `campaigns` command (the background simulator runs so)."""

import sys

from tui.cli.main import main

sys.exit(main())
