"""The membership domain's tables."""
