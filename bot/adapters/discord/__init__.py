"""The Discord adapter: `/ask`, @mentions and direct messages in, `Answer`s out as embeds.

`formatting` turns an Answer into messages within Discord's limits, `client` is
the discord.py client that receives questions and sends replies, and `runner`
is what `qabot discord` runs. Only `qabot discord` imports this package, so
other commands never load discord.py.
"""
