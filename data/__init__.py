"""Package data: the demo corpus (corpus/) shipped with pressrag, read through importlib.resources."""
