"""Serving: route a call to production or canary, validate it, predict, explain, record it."""
