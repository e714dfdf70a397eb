"""API: interactions."""
