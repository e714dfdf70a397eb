"""Answers from every channel: one way in for answers, one for refusals."""
