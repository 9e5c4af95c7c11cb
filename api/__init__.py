"""The HTTP API: a thin FastAPI layer translating HTTP to chainledger calls and back.

Arrives with the HTTP issue; nothing here yet.
"""
