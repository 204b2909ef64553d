"""KiriminAja (courier aggregator): express tracking connector and its sandbox."""
