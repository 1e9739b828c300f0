"""The report back to the parent forum: every child body (taskforce, working group) reports
its follow-up to its parent mayors' forum as a fixed agenda item.

- report_back.py: the fixed agenda items, when each report is due, the scan that compiles them
- content.py: what a report contains (pure)
- export.py: the report as HTML, CSV and PDF
"""
