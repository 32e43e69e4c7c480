"""Notifications of alerts: what a message says (content.py), how it travels (transport.py),
who gets it (receivers.py, through monitoring/services/notifications.py), the admin where
compliance officers set it up (admin.py) and the reads the model page uses (selectors.py).
"""
