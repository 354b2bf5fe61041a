"""What the bot says in its own words (not quoted from an article), in one place for every platform."""

ANSWERED_MESSAGE = "Here is what the articles say:"
RATE_LIMITED_MESSAGE = "You're asking faster than I can keep up. Please wait a few seconds and ask again."
ERROR_MESSAGE = "Sorry, something went wrong while looking that up. Please try again in a moment."
MORE_MESSAGE = "Here is more of what the articles say:"
NOTHING_MORE_MESSAGE = "That is all the articles say about it; I have no other passages to show."
NOTHING_TO_CONTINUE = "Ask me a question about the articles first; then “tell me more” shows more passages about it."
