"""Package data: the gold questions over the demo corpus, read through importlib.resources."""
