"""Monitoring: drift, performance, fairness, alerts and incidents (built in later issues)."""
