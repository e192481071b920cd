"""Retrieval: the example index, the Algorithm-2 retriever and retrieval quality (hit@k)."""
