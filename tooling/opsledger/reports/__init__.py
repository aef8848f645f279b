"""Reports in plain language: the executive brief, the weekly scorecard, the monthly
service review. Each is a function returning Markdown; the CLI prints or writes it."""
