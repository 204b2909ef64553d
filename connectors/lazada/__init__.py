"""Lazada Open Platform (LazOP): connector (``client``), local twin (``sandbox``), shared protocol (``api``)."""
