"""TikTok Shop (and Tokopedia, through it) describes itself (``connectors.spec``)."""

from connectors.spec import ORDERS, RETURNS, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="tiktok",
    title="TikTok Shop / Tokopedia (Partner API v202309)",
    connector="connectors.tiktok.client:TikTokConnector",
    sandbox="connectors.tiktok.sandbox:TikTokSandbox",
    credentials=Credentials(
        fields=("app_key", "app_secret", "access_token", "refresh_token", "shop_cipher"),
        secrets=("app_secret", "access_token", "refresh_token"),
    ),
    streams=(
        # Get Order Detail takes at most 50 ids (marketplaces.md §2.4); since 2024-03-25 an ID
        # local shop's tracking_number stays empty until the package ships (§2.6), and the
        # number is not an order status change, so update_time need not move with it.
        Stream(ORDERS, mapping="mappings.tiktok", batch=50, reread_awaiting_tracking=True),
        # Search Cancellations, then Search Returns, by update time ("Upper limit 50" a page;
        # the stream is read by window only: no lookup by id).
        Stream(RETURNS, mapping="mappings.tiktok_returns", batch=50),
    ),
)
