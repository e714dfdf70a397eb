"""Closing the loop: consent to be called back, follow-up cases, their queue and notifications."""
