"""Reports: what was sent, what arrived and what it cost, per period, sender ID, operator
and campaign, as server-side SVG charts with the same numbers in tables and CSV.

``queries`` reads the day tallies (kept exact by triggers, ``sending/tallies.py``);
``figures`` defines what is counted; ``services`` groups by period and breakdown;
``presenters`` makes the tables and charts; ``forms`` reads the filters.
"""
