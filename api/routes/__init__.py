"""Routers per audience: the public log, writers, counters, holders, auditors, platform."""
