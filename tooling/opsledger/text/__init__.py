"""Text helpers shared by every output: escaping untrusted text for its destination."""
