"""Channel connectors: one folder per marketplace, storefront or courier.

Each folder holds ``client.py`` (the connector: endpoints, signing, paging) and
``sandbox.py`` (a local HTTP twin of the channel's API). Shared HTTP plumbing lives in
``connectors._http`` and the contract every connector meets in ``connectors.contract``.
"""
