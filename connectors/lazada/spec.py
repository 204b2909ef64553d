"""Lazada describes itself (``connectors.spec``)."""

from connectors.spec import ORDERS, RETURNS, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="lazada",
    title="Lazada (Open Platform)",
    connector="connectors.lazada.client:LazadaConnector",
    sandbox="connectors.lazada.sandbox:LazadaSandbox",
    credentials=Credentials(
        fields=("app_key", "app_secret", "access_token", "refresh_token"),
        secrets=("app_secret", "access_token", "refresh_token"),
    ),
    streams=(
        # /orders/items/get takes at most 50 order_ids (a third-party SDK copying the API page's
        # summary, "No more than 50 at a time"; inferred, see client.py). No late-resi follow-up:
        # the pack call that moves an item to ``packed`` returns its tracking_number in the same
        # step, so the number arrives with an update of the order (client.py, "Tracking").
        Stream(ORDERS, mapping="mappings.lazada", batch=50, reread_awaiting_tracking=False),
        # Reverse orders by their lines' modified time (GetReverseOrdersForSeller); a read by id
        # (GetReverseOrderDetail) takes one reverse_order_id (client.py, "Returns").
        Stream(RETURNS, mapping="mappings.lazada_returns", batch=1),
    ),
)
