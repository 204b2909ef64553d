"""Pure mappings from each channel's raw payloads to the canonical model.

One module per source. Each exposes ``MAPPING_VERSION``, ``map_order(raw) -> OrderBundle``
(raising ``MappingError`` for a payload it cannot map), ``scrub(raw) -> dict`` (the
payload with buyer PII masked, as it may be stored) and ``external_id(raw) -> str | None``
(the order number, best effort, so even an unmappable payload is findable in quarantine). Status tables are data, next to the
mapping that uses them.
"""
