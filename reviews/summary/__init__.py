"""The weekly review summary: what happened to the models in a period, for the board.

    period.py     the period a summary covers (whole UTC days) and the one rule on it
    sections.py   the facts, gathered per section as plain data (existing selectors)
    markdown.py   the same sections as Markdown (what is stored, e-mailed and put in PRs)
    services.py   store a period's summary once, e-mail it to the boards' members

The command (`manage.py review_summary`), the weekly task, the pages and the API call these.
"""
