"""Administration views: each page lives in its own module (users, apikeys, org, outbox, …)."""
