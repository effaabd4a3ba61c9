"""The support agent example: typed tools, an approval before sending, runs with no key."""
