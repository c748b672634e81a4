"""Text, HTML and Markdown views of result objects (they only read results)."""
