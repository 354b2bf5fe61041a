"""What the bot says in its own words (not quoted from an article), in one place for every platform."""

ANSWERED_MESSAGE = "Here is what the articles say:"
LATEST_MESSAGE = "Here is the latest in the articles, newest first (the newest is from {date}):"
RATE_LIMITED_MESSAGE = "You're asking faster than I can keep up. Please wait a few seconds and ask again."
ERROR_MESSAGE = "Sorry, something went wrong while looking that up. Please try again in a moment."
MORE_MESSAGE = "Here is more of what the articles say:"
NOTHING_MORE_MESSAGE = "That is all the articles say about it; I have no other passages to show."
NOTHING_TO_CONTINUE = "Ask me a question about the articles first; then “tell me more” shows more passages about it."
STILL_READING_MESSAGE = "I'm still reading the articles{progress}; ask again in a minute."
"""While a bot's first index is built; `progress` is " (62%)" once the build reports it, else empty."""
NOT_LOADED_MESSAGE = (
    "I can't read the articles right now, so I can't answer yet; the bot's log says why. "
    "Please ask again later."
)
