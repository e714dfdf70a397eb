"""API: docs."""
