"""Improvement actions: record what the bank changed, and judge it by the scores before and after.

``service`` records and edits actions (validated, audited) and says which ones a trend chart
marks; ``effect`` reads the four windows' counts from the rollups and judges each action by
the difference in differences of survey/scoring/did.py.
"""
