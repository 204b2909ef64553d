"""Blibli Seller API: the connector (``client``) and its local twin (``sandbox``)."""
