"""Rollouts: the episode loop and the executors that run many episodes."""
