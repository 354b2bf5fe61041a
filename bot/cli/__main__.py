"""`python -m bot.cli`: the `qabot` command."""

import sys

from bot.cli.main import main

sys.exit(main())
