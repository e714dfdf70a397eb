"""Exports for quality staff: score tables and raw responses as CSV or XLSX.

Rows are produced lazily (``rows`` generators); ``writers`` turns them into a
streamed CSV or an XLSX written in constant memory. Phone numbers and e-mail
addresses are never read, and free text is masked (``survey.masking``: card, resident ID
and phone numbers, e-mail addresses).
"""
