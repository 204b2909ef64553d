"""Blibli's signature (marketplaces.md §5.1; [B1] GenerateSignature.php) and the sandbox's
own enforcement of it, Basic auth and the seller key.

Known answers: Blibli's API reference prints the raw strings for Order List V2 and Order
Detail V2 (``POST\\n446b76099795f116e1b8c3b0d95b4226\\napplication/json\\nTue May 12
16:28:52 WIB 2020\\n/seller/v1/orders/packages/filter``, ``GET\\n\\n\\nTue May 12 16:28:52
WIB 2020\\n/seller/v1/orders/items/25000134053``); the date line is PHP ``date("D M d
H:i:s T Y")`` in Asia/Jakarta (UTC+7). The reference gives no key with a signature, so
the HMAC step is checked against a computation written out here, and the client's and
the sandbox's independent signers must agree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone

import pytest
import requests

from connectors._http import ApiError, CredentialError
from connectors._http.auth import Outgoing
from connectors._sandbox import SandboxServer
from connectors.blibli import client
from connectors.blibli.sandbox import BlibliSandbox, expected_signature, signature_date

TUE_MAY_12 = int(datetime(2020, 5, 12, 9, 28, 52, tzinfo=timezone.utc).timestamp() * 1000)  # 16:28:52 WIB
LIST_RAW = "POST\n446b76099795f116e1b8c3b0d95b4226\napplication/json\nTue May 12 16:28:52 WIB 2020\n/seller/v1/orders/packages/filter"
DETAIL_RAW = "GET\n\n\nTue May 12 16:28:52 WIB 2020\n/seller/v1/orders/items/25000134053"


def test_the_documented_raw_strings() -> None:
    assert client.wib_date(TUE_MAY_12) == signature_date(TUE_MAY_12) == "Tue May 12 16:28:52 WIB 2020"
    assert client.wib_date(TUE_MAY_12 + 999) == "Tue May 12 16:28:52 WIB 2020"  # milliseconds do not round up
    assert client.signed_path("/v2/proxy/seller/v1/orders/packages/filter") == "/seller/v1/orders/packages/filter"
    assert client.signed_path("/v2/proxy/mta/api/businesspartner/v1/order/orderDetail") == "/mtaapi/api/businesspartner/v1/order/orderDetail"
    assert client.raw_string("POST", "446b76099795f116e1b8c3b0d95b4226", "application/json", client.wib_date(TUE_MAY_12), "/seller/v1/orders/packages/filter") == LIST_RAW
    assert client.raw_string("GET", client.body_md5(None), "", client.wib_date(TUE_MAY_12), client.signed_path("/v2/proxy/seller/v1/orders/items/25000134053")) == DETAIL_RAW
    # a body's MD5 as a third-party Go client printed it for this exact body
    body = '{"filter":{"statusFpDateRange":{"start":1646038009531,"end":1648630009531}},"paging":{"size":10},"sorting":{}}'
    assert client.body_md5(body) == "9d016e76a2ec85a8c7682fd694f83487"
    assert client.body_md5('{"a":"x\ny"}') == hashlib.md5(b'{"a":"x\\ny"}').hexdigest()  # CR/LF escaped first ([B1])


def test_the_hmac_is_base64_sha256_and_both_signers_agree() -> None:
    by_hand = base64.b64encode(hmac.new(b"secret", DETAIL_RAW.encode(), hashlib.sha256).digest()).decode()
    assert client.sign("secret", DETAIL_RAW) == by_hand
    assert expected_signature("secret", "GET", b"", "Tue May 12 16:28:52 WIB 2020", "/v2/proxy/seller/v1/orders/items/25000134053") == by_hand
    body = b'{"filter":{},"paging":{"page":0,"size":50}}'
    ours = client.sign("k", client.raw_string("POST", client.body_md5(body), "application/json", "Tue May 12 16:28:52 WIB 2020", "/seller/v1/orders/packages/filter"))
    assert expected_signature("k", "POST", body, "Tue May 12 16:28:52 WIB 2020", "/v2/proxy/seller/v1/orders/packages/filter") == ours


def test_the_auth_adds_basic_seller_key_query_and_signature() -> None:
    auth = client.BlibliAuth("mta-api-x", "key", "SELLERKEY", "SDC-60001", "secret", clock=lambda: TUE_MAY_12 / 1000)
    request = Outgoing("GET", "/v2/proxy/mta/api/businesspartner/v1/order/orderDetail")
    auth.apply(request)
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"mta-api-x:key").decode()
    assert request.headers["Api-Seller-Key"] == "SELLERKEY" and request.headers["Signature-Time"] == str(TUE_MAY_12)
    assert request.params["storeId"] == 10001 and request.params["storeCode"] == request.params["businessPartnerCode"] == "SDC-60001"
    raw = "GET\n\n\nTue May 12 16:28:52 WIB 2020\n/mtaapi/api/businesspartner/v1/order/orderDetail"
    assert request.headers["Signature"] == base64.b64encode(hmac.new(b"secret", raw.encode(), hashlib.sha256).digest()).decode()
    unsigned = Outgoing("GET", "/x")
    client.BlibliAuth("a", "b", "c", "d", "").apply(unsigned)
    assert "Signature" not in unsigned.headers  # optional: only with a signature key


@pytest.mark.parametrize("field", ["client_key", "api_seller_key", "signature_key", "seller_code"])
def test_the_sandbox_refuses_a_wrong_credential_without_retrying(field: str) -> None:
    app = BlibliSandbox(orders=5, seed=1)
    with SandboxServer(app) as server:
        good = app.demo_credentials()
        client.BlibliConnector(server.url, good).check()
        with pytest.raises(CredentialError) as info:
            client.BlibliConnector(server.url, {**good, field: "wrong-0042"}).check()
        assert "wrong-0042" not in str(info.value) and server.stats.snapshot()["by_status"] == {200: 1, 401: 1}


def test_the_signature_is_mandatory_only_when_the_seller_set_a_key() -> None:
    signed, unsigned = BlibliSandbox(orders=3, seed=2), BlibliSandbox(orders=3, seed=2, signature=False)
    with SandboxServer(signed) as a, SandboxServer(unsigned) as b:
        without = {k: v for k, v in signed.demo_credentials().items() if k != "signature_key"}
        with pytest.raises(CredentialError, match="401"):
            client.BlibliConnector(a.url, without).check()
        client.BlibliConnector(b.url, unsigned.demo_credentials()).check()
        reply = requests.post(f"{a.url}{client.LIST}", json={"paging": {"page": 0, "size": 51}}, timeout=5)
        assert reply.status_code == 401  # auth first
        with pytest.raises(ApiError, match="Maximum size is 50"):  # documented: size at most 50
            client.BlibliConnector(b.url, unsigned.demo_credentials())._list({}, page=0, size=51)


def test_the_detail_call_is_signed_over_the_mtaapi_path() -> None:
    mta = "/v2/proxy/mta/api/businesspartner/v1/order/orderDetail"
    raw = client.raw_string("GET", "", "", "Tue May 12 16:28:52 WIB 2020", client.signed_path(mta))
    assert expected_signature("k", "GET", b"", "Tue May 12 16:28:52 WIB 2020", mta) == client.sign("k", raw)
    app = BlibliSandbox(orders=3, seed=3)
    with SandboxServer(app) as server:  # one order read by number: a list lookup, then the signed per-item detail
        [page] = client.BlibliConnector(server.url, app.demo_credentials()).orders_by_id([app.dump_orders()[0]["orderNo"]])
        assert len(page.records) == 1 and server.stats.snapshot()["by_status"] == {200: page.requests}
