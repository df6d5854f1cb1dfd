"""The front page: the balance and its trend, today's counts, the latest messages."""
