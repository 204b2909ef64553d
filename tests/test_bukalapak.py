"""Bukalapak (issue 11 §4): a retired channel; its order export is imported, once.

The CSV below is written in the columns ``simpul.bukalapak`` assumes (no real export was
found); buyers are masked or fake (``B***i``, ``0812****123``). FACTS are typed by hand.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from simpul import audit, bukalapak, store
from simpul.canonical import FulfillmentStatus, MappingError, OrderStatus, PaymentStatus
from simpul.cli import main
from simpul.model import Order, OrderLine

HEADER = "No. Transaksi,Tanggal,Tanggal Update,Status,Nama Produk,SKU,Jumlah,Harga Satuan,Diskon,Ongkos Kirim,Nama Pembeli,No. HP Pembeli,Alamat,Kota,Provinsi,Kode Pos,Kurir,No. Resi,Metode Pembayaran"
ROWS = [
    # two lines of one order, received by the buyer
    "BL2501ABC1,2025-01-15 10:23:45,2025-01-20 08:00:00,received,Kaos Polos Hitam L,KAOS-HTM-L,2,Rp75.000,5.000,12000,B***i,0812****123,Jl. Contoh 1,Bandung,Jawa Barat,40115,JNE REG,CGK0000000001,BukaDompet",
    "BL2501ABC1,2025-01-15 10:23:45,2025-01-20 08:00:00,received,Kopi Gayo 250 g,KOPI-250,1,115000,0,12000,B***i,0812****123,Jl. Contoh 1,Bandung,Jawa Barat,40115,JNE REG,CGK0000000001,BukaDompet",
    # cancelled by the closure (§6: not processed by 2025-03-02)
    "BL2502XYZ9,2025-02-09 21:00:00,,cancelled,Madu Hutan 500 ml,MADU-500,1,135000,,9000,S***i,0813****456,,Surabaya,Jawa Timur,60271,,,Transfer",
    # a bad row: the quantity is text
    "BL2502BAD0,2025-02-01 09:00:00,,paid,Tas Anyam,TAS-S,dua,175000,,10000,A***s,0811****789,,Medan,Sumatera Utara,20112,,,Transfer",
]
FACTS = {
    "BL2501ABC1": {"status": ("received", OrderStatus.COMPLETED, PaymentStatus.PAID, FulfillmentStatus.DELIVERED),
                   "total": "272000",  # 2 x 75,000 - 5,000 + 115,000 + 12,000 shipping (once per order)
                   "created": "2025-01-15T03:23:45+00:00",  # 10:23:45 WIB
                   "updated": "2025-01-20T01:00:00+00:00", "lines": 2, "tracking": "CGK0000000001"},
    "BL2502XYZ9": {"status": ("cancelled", OrderStatus.CANCELLED, PaymentStatus.UNKNOWN, FulfillmentStatus.CANCELLED),
                   "total": "144000", "created": "2025-02-09T14:00:00+00:00", "updated": "2025-02-09T14:00:00+00:00", "lines": 1, "tracking": None},
}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "bukalapak-orders.csv"
    path.write_text("\ufeff" + HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def home(cli_home: Path) -> Path:
    assert main(["keys", "init"]) == 0
    return cli_home


def test_the_mapping_reads_what_a_person_reads(export: Path) -> None:
    records = {r["transaction_id"]: r for r in bukalapak.read_export(export)}
    for number, facts in FACTS.items():
        bundle = bukalapak.map_order(records[number])
        o = bundle.order
        assert (o.raw_status, o.status, o.payment_status, o.fulfillment_status) == facts["status"]
        assert (o.currency, o.total) == ("IDR", Decimal(facts["total"]))
        assert (o.created_at.isoformat(), o.updated_at.isoformat(), o.source_zone) == (facts["created"], facts["updated"], "Asia/Jakarta")
        assert len(bundle.lines) == facts["lines"]
        assert (bundle.shipments[0].tracking_number if bundle.shipments else None) == facts["tracking"]
        assert "Jl. Contoh" not in json.dumps(bundle.raw)  # the street is sealed, never stored as is
    with pytest.raises(MappingError, match="rows\\[0\\] column 'Jumlah'"):
        bukalapak.map_order(records["BL2502BAD0"])
    unknown = {**records["BL2501ABC1"], "rows": [{**r, "Status": "ditahan"} for r in records["BL2501ABC1"]["rows"]]}
    assert bukalapak.map_order(unknown).order.status is OrderStatus.UNKNOWN


def test_import_twice_writes_once_and_quarantines_the_bad_row(home: Path, export: Path, capsys) -> None:  # noqa: ANN001
    assert main(["import", "bukalapak", str(export), "--account", "toko-lama"]) == 0
    out = capsys.readouterr().out
    assert "3 Bukalapak orders into account toko-lama (new retired account): 2 new" in out and "1 quarantined" in out
    engine = sa.create_engine(f"sqlite:///{home / 'simpul.db'}")
    with engine.connect() as conn:
        orders = conn.execute(sa.select(Order.__table__.c.external_id, Order.__table__.c.channel, Order.__table__.c.total)).all()
        lines = conn.execute(sa.select(sa.func.count()).select_from(OrderLine.__table__)).scalar_one()
        [bad] = store.open_quarantine(conn, "toko-lama")
        entries_before = len(audit.entries(conn))
        account = conn.execute(sa.text("SELECT channel, status FROM account WHERE id = 'toko-lama'")).one()
    assert sorted(orders) == [("BL2501ABC1", "bukalapak", Decimal("272000")), ("BL2502XYZ9", "bukalapak", Decimal("144000"))] and lines == 3
    assert bad["external_id"] == "BL2502BAD0" and "column 'Jumlah'" in bad["reason"]
    assert tuple(account) == ("bukalapak", "retired")

    assert main(["import", "bukalapak", str(export), "--account", "toko-lama"]) == 0
    assert "0 new, 0 changed, 2 unchanged" in capsys.readouterr().out
    with engine.connect() as conn:
        assert len(audit.entries(conn)) == entries_before  # nothing written, not even an audit entry
        [again] = store.open_quarantine(conn, "toko-lama")
        assert again["attempts"] == 1 and audit.verify(conn).ok
    engine.dispose()
    assert main(["sync", "toko-lama", "--direct"]) == 0  # a retired account never syncs: skipped, with the reason
    out = capsys.readouterr().out
    assert "skipped" in out and "is retired" in out
    assert main(["quarantine", "replay"]) == 1  # no live channel to replay through: kept, counted as still failing, no traceback
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "still failing 1" in captured.out


def test_one_line_refusals(home: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["import", "bukalapak", str(tmp_path / "nope.csv"), "--account", "toko-lama"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err and "No such file" in err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("Invoice,Date,Total\nX1,2025-01-01,1000\n")
    assert main(["import", "bukalapak", str(wrong), "--account", "toko-lama"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing columns" in err and "'No. Transaksi'" in err
    creds = tmp_path / "c.json"
    creds.write_text("{}")
    assert main(["accounts", "add", "bukalapak", "toko-bl", "--base-url", "https://api.bukalapak.com", "--credentials-file", str(creds)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2025-03-02" in err and "simpul import bukalapak FILE --account A" in err and "§6" in err


def test_an_account_of_another_channel_is_not_taken_over(home: Path, export: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    creds = tmp_path / "w.json"
    creds.write_text(json.dumps({"consumer_key": "ck_x", "consumer_secret": "cs_x"}))
    assert main(["accounts", "add", "woocommerce", "toko-web", "--base-url", "https://toko.example", "--credentials-file", str(creds), "--no-verify"]) == 0
    capsys.readouterr()
    assert main(["import", "bukalapak", str(export), "--account", "toko-web"]) == 2
    assert "is a woocommerce account" in capsys.readouterr().err
