"""KiriminAja describes itself (``connectors.spec``)."""

from connectors.spec import TRACKING, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="kiriminaja",
    title="KiriminAja (courier aggregator; tracks its own bookings)",
    connector="connectors.kiriminaja.client:KiriminAjaConnector",
    sandbox="connectors.kiriminaja.sandbox:KiriminAjaSandbox",
    credentials=Credentials(fields=("api_key",), secrets=("api_key",)),
    # One POST /api/mitra/tracking per parcel; 20 a committed page (20 s at the assumed 1/s).
    streams=(Stream(TRACKING, mapping="mappings.kiriminaja", batch=20),),
)
