"""WooCommerce describes itself (``connectors.spec``)."""

from connectors.spec import ORDERS, RETURNS, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="woocommerce",
    title="WooCommerce (REST wc/v3)",
    connector="connectors.woocommerce.client:WooCommerceConnector",
    sandbox="connectors.woocommerce.sandbox:WooCommerceSandbox",
    credentials=Credentials(fields=("consumer_key", "consumer_secret"), secrets=("consumer_key", "consumer_secret")),
    streams=(
        # GET /orders?include=… with per_page up to 100 (storefronts_couriers.md §2.2); a
        # tracking number is order meta, saved with the order, so no follow-up is needed.
        Stream(ORDERS, mapping="mappings.woocommerce", batch=100),
        # Refunds (§2.4): GET /orders/<id>/refunds names one order, so a read by key asks
        # for one order's refunds (client.py: the walk finds the orders, then reads each).
        Stream(RETURNS, mapping="mappings.woocommerce_returns", batch=1),
    ),
)
