"""Record history from git: the index (built in one pass) and what it says."""

#: what every history-based verdict, finding and page says when there is no history
#: (here, not in :mod:`opsledger.obligations`, so a light command can name it cheaply)
HISTORY_UNAVAILABLE = "history unavailable"
