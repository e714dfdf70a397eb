"""The work behind the admin pages: accounts, keys, organisation, settings."""
