"""Experiments: sweeps over models and settings, leaderboards and paired comparisons."""
