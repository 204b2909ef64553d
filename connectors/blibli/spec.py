"""Blibli describes itself (``connectors.spec``)."""

from connectors.spec import ORDERS, RETURNS, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="blibli",
    title="Blibli (Seller API)",
    connector="connectors.blibli.client:BlibliConnector",
    sandbox="connectors.blibli.sandbox:BlibliSandbox",
    credentials=Credentials(
        fields=("client_id", "client_key", "api_seller_key", "seller_code", "signature_key"),
        secrets=("client_key", "api_seller_key", "signature_key"),
        optional=("signature_key",),
    ),
    streams=(
        # batch 1: Blibli's detail is per order item (marketplaces.md §5.2), so an order is
        # read by its number one at a time (one listing lookup, then one detail per item).
        Stream(ORDERS, mapping="mappings.blibli", batch=1),
        # RMAs from the returned order summary, read newest first (client.py, "Returns"); the
        # detail is asked per RMA (rmaId, orderNo, orderItemNo): one at a time.
        Stream(RETURNS, mapping="mappings.blibli_returns", batch=1),
    ),
)
