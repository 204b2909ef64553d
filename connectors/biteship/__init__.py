"""Biteship (courier aggregator): public tracking connector and its sandbox."""
