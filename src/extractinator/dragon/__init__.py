"""DRAGON benchmark support."""
