"""WooCommerce REST API wc/v3: the connector (``client``) and its local twin (``sandbox``)."""
