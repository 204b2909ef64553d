"""Shopee describes itself (``connectors.spec``)."""

from connectors.spec import ORDERS, RETURNS, SETTLEMENTS, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="shopee",
    title="Shopee (Open Platform v2)",
    connector="connectors.shopee.client:ShopeeConnector",
    sandbox="connectors.shopee.sandbox:ShopeeSandbox",
    credentials=Credentials(
        fields=("partner_id", "partner_key", "shop_id", "access_token", "refresh_token"),
        secrets=("partner_key", "access_token", "refresh_token"),
    ),
    streams=(
        # get_order_detail takes at most 50 order_sn (marketplaces.md §1.3); the airway bill
        # arrives after the seller arranges shipment, possibly without moving update_time (§1.5).
        Stream(ORDERS, mapping="mappings.shopee", batch=50, reread_awaiting_tracking=True),
        # get_return_list by update time (15-day windows, page_size <= 100), then
        # get_return_detail, which takes one return_sn (marketplaces.md §1.7, client.py).
        Stream(RETURNS, mapping="mappings.shopee_returns", batch=1),
        # get_escrow_list by release time, then get_escrow_detail, which takes one order_sn
        # (client.py [P1]): what Shopee paid the seller per order, COD included.
        Stream(SETTLEMENTS, mapping="mappings.shopee_settlements", batch=1),
    ),
)
