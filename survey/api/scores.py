"""API: scores."""
