"""Dates as auditors read them everywhere, pages and admin alike: ISO order, 24-hour clock
and the zone (UTC), instead of English prose ("Dec. 2, 2026, 6:43 p.m.")."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
