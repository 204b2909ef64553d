"""Shopee Open Platform v2: connector (``client``), local twin (``sandbox``), shared protocol (``api``)."""
