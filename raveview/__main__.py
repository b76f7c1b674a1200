"""``python -m raveview`` runs the command line."""

import sys

from raveview.cli.main import main

sys.exit(main())
