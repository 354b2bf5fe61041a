"""What the bot says in its own words (not quoted from an article), in one place for every platform."""

ANSWERED_MESSAGE = "Here is what the articles say:"
LATEST_MESSAGE = "Here is the latest in the articles, newest first (the newest is from {date}):"
RATE_LIMITED_MESSAGE = "You're asking faster than I can keep up. Please wait a few seconds and ask again."
ERROR_MESSAGE = "Sorry, something went wrong while looking that up. Please try again in a moment."
