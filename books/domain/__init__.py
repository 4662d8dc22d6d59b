"""The books domain: the catalogue's model, messages and value rules.

Pydantic only: nothing here imports Django or knows how books are stored.
"""
