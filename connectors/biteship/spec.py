"""Biteship describes itself (``connectors.spec``)."""

from connectors.spec import TRACKING, ConnectorSpec, Credentials, Stream

SPEC = ConnectorSpec(
    name="biteship",
    title="Biteship (courier aggregator, public tracking)",
    connector="connectors.biteship.client:BiteshipConnector",
    sandbox="connectors.biteship.sandbox:BiteshipSandbox",
    credentials=Credentials(fields=("api_key",), secrets=("api_key",)),
    # One request per parcel (GET /v1/trackings/:waybill_id/couriers/:courier_code); a
    # batch of 20 is one committed page, about 4 s at the test keys' 5 requests/s.
    streams=(Stream(TRACKING, mapping="mappings.biteship", batch=20),),
)
