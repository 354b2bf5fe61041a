"""qabot: answers questions from news articles with the exact passages and their sources."""
