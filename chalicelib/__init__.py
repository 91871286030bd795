"""Hosted checkout: everything but the routes (which live in app.py)."""
