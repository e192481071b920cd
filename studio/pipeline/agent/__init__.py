"""The acting side of a rollout: prompts, REASON/ACTION parsing and the policies that choose actions."""
