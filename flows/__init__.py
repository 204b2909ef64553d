"""Prefect flows: thin wiring over ``simpul.runner`` and ``simpul.engine``.

``sync_orders`` holds the order flows (``sync-all``, ``sync-shard``, ``sync-orders``,
``resync``) and ``run_sync_flow``, the in-process entry the CLI uses, plus what a flow of
any stream shares (``sync_account``: one account's run as plan and advance tasks;
``outcome``, ``rows_of``); ``track_shipments`` the ``track-shipments`` flow (and
``run_track_flow``); ``params`` their typed
parameters; ``_artifacts`` what a run publishes; ``_limits`` the database concurrency
limit; ``_engine_log`` keeps a Failed run's log free of Prefect's false "unexpected
exception" (installed on import, as the engine imports the flow before running it).
Deployments are in ``prefect.yaml`` at the project root.
"""

from flows import _engine_log

_engine_log.install()
