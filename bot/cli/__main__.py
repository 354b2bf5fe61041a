"""`python -m bot.cli`: the `qabot` command."""

from bot.cli.main import run

run()
