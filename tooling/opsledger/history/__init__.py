"""Record history from git: the index (built in one pass) and what it says."""
