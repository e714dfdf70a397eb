"""API: invitations."""
