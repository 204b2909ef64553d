"""Prefect flows: thin wiring over ``simpul.engine``.

``sync_orders`` holds the flows (``sync-orders``, ``sync-all``, ``resync``) and
``run_sync_flow``, the in-process entry the CLI uses; ``params`` their typed parameters;
``_artifacts`` what a run publishes. Deployments are in ``prefect.yaml`` at the project root.
"""
