"""The Slack adapter: `qabot slack` answers mentions, direct messages and `/ask` in a workspace.

`app` holds the listeners, `formatting` turns an `Answer` into Block Kit, and
`runner` serves the app in Socket Mode or over HTTP. Only `bot.cli.main` imports
`runner`, and only for the `slack` command, so other commands never load Slack's libraries.
"""
