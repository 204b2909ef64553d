"""TikTok Shop Partner API v202309: connector (``client``), local twin (``sandbox``), shared protocol (``api``).

One connector serves TikTok Shop sellers and Tokopedia sellers alike: Tokopedia's own
Fulfillment Service API is being retired, and after a merchant's migration "all newly
generated data can only be accessed through the Shop|Tokopedia APIs" (marketplaces.md §2.1,
§3, [T7]). A Tokopedia seller authorises Simpul through TikTok Shop's Partner Center
(``seller-id.tokopedia.com`` App Store) and is added as a ``tiktok`` account; orders placed
on the Tokopedia app arrive through the same order APIs and map the same way. Historical
orders that stayed in Tokopedia are not reachable through this API.
"""
