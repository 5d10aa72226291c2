"""Engines answer a valid request: stub rules, fixture replay, recorder, generator."""
