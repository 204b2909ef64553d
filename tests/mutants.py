"""Mutants: break one guarantee on purpose and check that the tests written for it fail.

Run with ``make mutants`` or ``.venv/bin/python -m tests.mutants [NAME ...] [--list]
[--jobs N]``. Not collected by pytest and not part of ``make test`` (a few minutes: each
mutant starts its own pytest; ``--jobs`` runs several at once).

Each mutant is a small text edit of the source, applied to a temporary copy of the
project (the checkout itself is never touched), followed by the tests that should catch
it, run in that copy (stopping at the first failure, ``-x``). A mutant is *caught* when
those tests fail (pytest exit status 1),
*survived* when they pass. First the same tests run on the unchanged copy and must pass,
so a caught mutant was caught by the edit, not by a test that fails anyway. An edit
whose text no longer matches the source (the code moved on) is reported as ``stale``,
never as caught: update the mutant.

The tests run against the PostgreSQL server of ``make test`` too
(``SIMPUL_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv", "data", "secrets", "bench", "__pycache__", ".pytest_cache", "*.egg-info", ".mypy_cache", ".ruff_cache")

CHECKPOINT_IN_THE_PAGE = '''            else:
                store.save_checkpoint(conn, account.id, job, run_id, plan, now=now)
'''
PAGE_TRANSACTION = '''        with self.db.begin() as conn:
            counts = write(conn, ctx)
'''
PAGE_TRANSACTION_END = '''            store.flush_audit(conn, ctx)
        result.pages += 1
'''
CHECKPOINT_ALONE = '''        if not plan.done:  # MUTANT: the checkpoint in a transaction of its own
            with self.db.begin() as conn:
                store.save_checkpoint(conn, account.id, job, run_id, plan, now=now)
'''


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    guarantee: str
    path: str
    edits: tuple[tuple[str, str], ...]  # (exact text, replacement); each text must occur once
    tests: tuple[str, ...]  # pytest arguments: files, node ids, -k expressions


MUTANTS = (
    Mutant(
        "cod-refusal-without-the-return-leg",
        "a refused COD parcel costs both shipping legs, packing and write-offs",
        "simpul/cod.py",
        (('            item.refusal_cost = forward + back + packing.get(r["account_id"], packing.get("*", ZERO)) + losses.get(key, ZERO)\n', '            item.refusal_cost = forward + packing.get(r["account_id"], packing.get("*", ZERO)) + losses.get(key, ZERO)  # MUTANT\n'),),
        ("tests/test_cod_end_to_end.py",),
    ),
    Mutant(
        "cod-payout-by-airway-bill-only",
        "a payout line names its parcel by airway bill or by order number",
        "simpul/cod.py",
        (('        found = by_awb.get(line["tracking_number"] or "") or by_number.get(line["order_external_id"] or "") or set()\n', '        found = by_awb.get(line["tracking_number"] or "") or set()  # MUTANT\n'),),
        ("tests/test_cod_end_to_end.py",),
    ),
    Mutant(
        "cod-paid-twice-passes-as-paid",
        "a parcel paid out twice is disputed, not paid",
        "simpul/cod.py",
        (('"paid_twice" if item.lines > 1 else', '"paid_twice" if item.lines > 2 else'),),
        ("tests/test_cod_end_to_end.py",),
    ),
    Mutant(
        "remittance-amount-reads-thousands-separator",
        "a payout amount with a thousands separator (10.000) is refused, never read as ten",
        "simpul/cod.py",
        ((r'_AMOUNT = re.compile(r"^-?\d+(\.\d{1,2})?$")', r'_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")'),),
        ("tests/test_cod_cli.py", "-k", "bad_lines"),
    ),
    Mutant(
        "disposition-inspect-rule-ignored",
        "a rule that says inspect stops the receipt until a person names the item",
        "simpul/returns.py",
        (("        elif disposition == INSPECT:\n", "        elif False:  # MUTANT\n"),),
        ("tests/test_returns_lifecycle.py", "-k", "inspect"),
    ),
    Mutant(
        "returns-upsert-without-version-guard",
        "a returns stream's upsert repeats its version guard (an older return never overwrites a newer one)",
        "simpul/store.py",
        (("        index_elements=[RETURNS.c[k] for k in keys], set_={c: excluded[c] for c in columns if c not in keys}, where=guard\n", "        index_elements=[RETURNS.c[k] for k in keys], set_={c: excluded[c] for c in columns if c not in keys}\n"),),
        ("tests/test_returns_stream.py", "-k", "older_record"),
    ),
    Mutant(
        "returns-older-record-written",
        "an older version of a return is counted stale and not written",
        "simpul/store.py",
        (('        elif before["updated_at"] is None or new_version[0] >= before["updated_at"]:\n', "        elif True:  # MUTANT\n"),),
        ("tests/test_returns_stream.py", "-k", "older_record"),
    ),
    Mutant(
        "stream-return-beside-the-orders-summary",
        "a returns stream's row supersedes the order-derived row of the same order and type (one return, one row)",
        "simpul/store.py",
        (("        supersede_returns(conn, ctx.account_id, sorted({r.order_external_id for r in to_write}))\n", ""),),
        ("tests/test_returns_stream.py", "-k", "supersedes"),
    ),
    Mutant(
        "order-sync-deletes-stream-returns",
        "an order sync replaces only the order-derived returns",
        "simpul/store.py",
        (("*([table.c.source == ORDER_SOURCE] if table is RETURNS else [])", ""),),
        ("tests/test_returns_stream.py", "-k", "supersedes"),
    ),
    Mutant(
        "orders-cursor-waits-for-the-returns",
        "the orders' cursor moves when their walk ends, so failing returns never hold the orders back",
        "simpul/engine.py",
        (("            for kind in plan.cursors:\n", "            for kind in (plan.cursors if plan.done else ()):  # MUTANT\n"),),
        ("tests/test_returns_stream.py", "-k", "holds_the_orders_back"),
    ),
    Mutant(
        "upsert-without-version-guard",
        "the bulk upsert's WHERE repeats the version guard (older never overwrites newer)",
        "simpul/store.py",
        (("        where=guard if guarded else None,\n", ""),),
        ("tests/test_store.py",),
    ),
    Mutant(
        "page-keeps-the-older-copy",
        "of two copies of one order in a page, the newer is written",
        "simpul/store.py",
        (("(b.order.updated_at, b.payload_hash) > (seen.order.updated_at, seen.payload_hash)", "(b.order.updated_at, b.payload_hash) < (seen.order.updated_at, seen.payload_hash)"),),
        ("tests/test_store.py",),
    ),
    Mutant(
        "audit-digest-without-ts",
        "the audit hash covers the entry's time",
        "simpul/audit.py",
        (('        row["ts"],\n', ""),),
        ("tests/test_audit.py",),
    ),
    Mutant(
        "audit-digest-without-account",
        "the audit hash covers the entry's account",
        "simpul/audit.py",
        (('        row["account_id"] or "",\n', ""),),
        ("tests/test_audit.py",),
    ),
    Mutant(
        "follow-up-phase-off",
        "orders waiting for a tracking number are re-read by number (late airway bills)",
        "simpul/engine.py",
        (('        if plan.follow_up:\n', "        if False:  # MUTANT\n"),),
        ("tests/shopee/test_connector.py::test_the_engine_picks_up_a_tracking_number_that_came_without_an_update",),
    ),
    Mutant(
        "follow-up-finds-nothing",
        "the follow-up phase finds the orders waiting for a tracking number",
        "simpul/store.py",
        (("    return [r[0] for r in conn.execute(query)]\n", "    return []  # MUTANT\n"),),
        ("tests/shopee/test_connector.py::test_the_engine_picks_up_a_tracking_number_that_came_without_an_update",),
    ),
    Mutant(
        "checkpoint-committed-before-its-page",
        "a page and its checkpoint commit together (here: the checkpoint first, alone), Shopee",
        "simpul/engine.py",
        ((CHECKPOINT_IN_THE_PAGE, ""), (PAGE_TRANSACTION, CHECKPOINT_ALONE + PAGE_TRANSACTION)),
        ("tests/faults/test_page_commit.py", "-k", "shopee"),
    ),
    Mutant(
        "checkpoint-committed-after-its-page",
        "a page and its checkpoint commit together (here: the checkpoint after, alone), Shopee",
        "simpul/engine.py",
        ((CHECKPOINT_IN_THE_PAGE, ""), (PAGE_TRANSACTION_END, PAGE_TRANSACTION_END.replace("        result.pages", CHECKPOINT_ALONE + "        result.pages"))),
        ("tests/faults/test_page_commit.py", "-k", "shopee"),
    ),
    Mutant(
        "parcel-older-reply-wins",
        "a tracking reply whose last scan is older than the stored one never moves the parcel back",
        "simpul/parcels.py",
        (('        newer = row["last_event_at"] is None and row["payload_hash"] is None or (\n', "        newer = True or (  # MUTANT\n"),),
        ("tests/test_tracking.py", "-k", "older_reply"),
    ),
    Mutant(
        "order-sync-drops-the-couriers-word",
        "an order sync that replaces shipment rows re-applies what the courier said",
        "simpul/engine.py",
        (("                if counts.new or counts.changed:  # replaced shipment rows get the couriers' word back\n", "                if False:  # MUTANT\n"),),
        ("tests/test_tracking.py", "-k", "keeps_its_word"),
    ),
    Mutant(
        "shopee-sandbox-signs-another-base-string",
        "the Shopee sandbox verifies the documented base string with its own signer",
        "connectors/shopee/sandbox.py",
        (("        parts += [str(access_token), str(shop_id)]\n", "        parts += [str(shop_id), str(access_token)]  # MUTANT\n"),),
        ("tests/shopee/test_sandbox.py",),
    ),
    Mutant(
        "lease-of-a-live-holder-taken-over",
        "a SQLite lease is taken over only from a dead process on this host",
        "simpul/locks.py",
        (("        return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))\n", "        return True  # MUTANT\n"),),
        ("tests/test_locks.py",),
    ),
    Mutant(
        "advisory-lock-never-refuses",
        "two syncs of one account never run at once (PostgreSQL advisory lock)",
        "simpul/locks.py",
        (("            if not got:\n", "            if False:  # MUTANT\n"),),
        ("tests/faults/test_concurrency.py", "-k", "two_sync_processes"),
    ),
    # -- hostile channels (issue 9; tests/hostile/README.md) --------------------------------
    Mutant(
        "boundary-check-skipped",
        "every mapped value must fit the canonical model and both databases, or the order is quarantined by field",
        "simpul/engine.py",
        (("lambda raw: boundary.check(mapping.map_order(raw)) if boundary is not None else mapping.map_order(raw))", "lambda raw: mapping.map_order(raw))"),),
        ("tests/hostile/test_records.py", "-k", "quarantined_by_field"),
    ),
    Mutant(
        "boundary-fast-path-lets-nul-through",
        "the boundary check's inline fast path never passes a value its rule refuses",
        "simpul/limits.py",
        (('v.isascii() and "\\\\x00" not in v)', "v.isascii())"),),
        ("tests/hostile/test_limits.py",),
    ),
    Mutant(
        "long-json-integer-unreadable",
        "a 5,000-digit integer costs its own order, not the whole reply",
        "simpul/jsoncodec.py",
        (('if "integer string conversion" not in str(exc):', "if True:"),),
        ("tests/hostile/test_records.py", "-k", "quarantined_by_field and shopee"),
    ),
    Mutant(
        "unreadable-batch-not-split",
        "a lookup batch whose reply cannot be parsed is split down to the one unreadable order",
        "connectors/_http/batches.py",
        (("            if len(batch) == 1:\n", "            raise\n            if len(batch) == 1:\n"),),
        ("tests/hostile/test_records.py", "-k", "split"),
    ),
    Mutant(
        "reply-without-size-cap",
        "a reply is read up to its size cap, no further",
        "connectors/_http/reply.py",
        (("        if size > limits.max_bytes:\n            raise ReplyTooLarge(None)\n", ""),),
        ("tests/hostile/test_budgets.py", "-k", "huge_body or reading_stops"),
    ),
    Mutant(
        "redirects-followed",
        "a redirect off the account's base URL is never followed",
        "connectors/_http/client.py",
        (("                    allow_redirects=False,\n", "                    allow_redirects=True,\n"),),
        ("tests/hostile/test_budgets.py", "-k", "redirect_to_another_host"),
    ),
    Mutant(
        "window-budget-never-checked",
        "a window's pages, requests and time are budgeted",
        "simpul/budget.py",
        (('    limits = limits_for(policy, channel, state.get("reported"), rate)\n', "    return\n"),),
        ("tests/hostile/test_budgets.py", "-k", "ever_new or inventing or request_and_time"),
    ),
    Mutant(
        "idle-cursors-trusted",
        "a run stopped by idle pages resumes from before them, not from a made-up cursor",
        "simpul/budget.py",
        (('    return state.get("resume") if state.get("idle") else position\n', "    return position\n"),),
        ("tests/hostile/test_budgets.py", "-k", "ever_new"),
    ),
    Mutant(
        "woocommerce-restarts-from-year-9999",
        "a time beyond the window on a page does not make the walk (the kit's, used by WooCommerce) skip the rest",
        "connectors/_http/walk.py",
        (("if (t := self.stamp(r)) is not None and t < until]", "if (t := self.stamp(r)) is not None]"),),
        ("tests/hostile/test_records.py", "-k", "far_future"),
    ),
    Mutant(
        "database-error-leaves-with-its-parameters",
        "a database error leaves the engine described, without its statement and parameters",
        "simpul/engine.py",
        (("        raise failures.StoreError(failures.describe(exc)) from None\n", "        raise\n"),),
        ("tests/hostile/test_errors.py",),
    ),
    Mutant(
        "settlement-older-overwrites-newer",
        "an older settlement (the release before a later adjustment) is counted stale, not written",
        "simpul/store.py",
        (("        if before is not None and (settlement.updated_at, settlement.expected_amount is not None) < (before[\"updated_at\"], before[\"expected_amount\"] is not None):", "        if False:"),),
        ("tests/test_settlements_store.py", "-k", "sqlite"),
    ),
    Mutant(
        "settlement-upsert-without-its-guard",
        "the settlements upsert repeats the version guard for a writer that raced past the read",
        "simpul/store.py",
        (("        SETTLEMENTS.c.updated_at < excluded.updated_at,\n", "        sa.true(),\n"),),
        ("tests/test_settlements_store.py", "-k", "raced and sqlite"),
    ),
    Mutant(
        "settlement-resolves-its-orders-quarantine",
        "a settlement that maps resolves only the settlement stream's quarantine row of its order number",
        "simpul/store.py",
        (("                QUARANTINE.c.stream == ctx.stream,  # a settlement's key is its order's number\n", ""),),
        ("tests/test_settlements_store.py", "-k", "quarantine and sqlite"),
    ),
    Mutant(
        "settlements-not-read-in-the-sync",
        "every scheduled sync reads the settlements stream after the orders",
        "simpul/engine.py",
        (("if s.kind in store.SIDE_STREAMS))", "if s.kind == RETURNS))"),),
        ("tests/shopee/test_settlements_stream.py", "-k", "lands_every_payout"),
    ),
    Mutant(
        "escrow-walk-skips-a-page-of-a-second",
        "payouts that share one release second across pages land once (the escrow list's page numbers)",
        "connectors/shopee/client.py",
        (("    second_page=api.ESCROW_FIRST_PAGE + 1,", "    second_page=api.ESCROW_FIRST_PAGE + 2,"),),
        ("tests/shopee/test_settlements_stream.py", "-k", "sharing_one_release_second"),
    ),
    Mutant(
        "settlement-version-ignores-adjustments",
        "a settlement's version is its newest adjustment when later than the release",
        "mappings/shopee_settlements.py",
        (("        updated_at=max([released_at, *_adjusted_at(income)]),", "        updated_at=released_at,"),),
        ("tests/shopee/test_settlements_mapping.py",),
    ),
    Mutant(
        "cod-settlement-against-the-cod-amount",
        "a marketplace payout is paid when it equals what the marketplace said, not the COD amount it kept fees from",
        "simpul/cod.py",
        (("            item.expected = expected.get((item.account, item.order), item.amount)", "            item.expected = item.amount"),),
        ("tests/test_cod_end_to_end.py", "-k", "sqlite"),
    ),
    Mutant(
        "scanned-records-not-progress",
        "a walk past many orders without a refund is progress, not a channel paging without data",
        "simpul/engine.py",
        (("for r in part] + list(page.scanned)", "for r in part]"),),
        ("tests/woocommerce/test_returns_engine.py", "-k", "not_mistaken"),
    ),
    Mutant(
        "incremental-resumes-in-a-failing-side-stream",
        "a side stream that keeps failing never holds the orders back: each incremental run reads the orders first",
        "simpul/engine.py",
        (("                existing = None\n", "                pass\n"),),
        ("tests/test_returns_stream.py", "-k", "failing and sqlite"),
    ),
    Mutant(
        "settlement-boundary-lets-a-missing-payout-through",
        "a settlement without its payout, payout time or version is quarantined, not a failed page",
        "simpul/limits.py",
        (("            if getattr(settlement, name) is None:\n", "            if False:\n"),),
        ("tests/shopee/test_settlements_stream.py", "-k", "required_value"),
    ),
    Mutant(
        "settlements-not-replayed",
        "quarantine replay maps a settlement through the settlements stream's mapping and writes it",
        "simpul/quarantine.py",
        (("        if kind not in WINDOW_STREAMS:", "        if kind not in WINDOW_STREAMS or kind == \"settlements\":"),),
        ("tests/shopee/test_settlements_stream.py", "-k", "bad_escrow_detail"),
    ),
    Mutant(
        "settlement-listed-payout-replaces-the-detail",
        "a listed payout alone (the detail refused) never replaces the stored detail of the same version",
        "simpul/store.py",
        (("            sa.or_(excluded.expected_amount.is_not(None), SETTLEMENTS.c.expected_amount.is_(None)),\n", ""),),
        ("tests/test_settlements_store.py", "-k", "listed and sqlite"),
    ),
    Mutant(
        "cod-settlement-not-a-delivery",
        "a marketplace's payout proves the delivery of a COD order tracking has not seen delivered",
        "simpul/cod.py",
        (("        elif key in settled and settled[key][0] > 0:", "        elif False:"),),
        ("tests/test_cod_cli.py", "-k", "marketplace and sqlite"),
    ),
    Mutant(
        "cod-settlement-makes-a-cancelled-order-delivered",
        "a payout for a cancelled or refused order is flagged for a person, not taken as a delivery",
        "simpul/cod.py",
        (("            if item.state != \"delivered\":  # paid out", "            if False:  # paid out"),),
        ("tests/test_cod_cli.py", "-k", "marketplace and sqlite"),
    ),
    Mutant(
        "side-stream-permission-disables-the-account",
        "a side stream refused with a fresh token is skipped; the account stays active and its orders land",
        "connectors/shopee/client.py",
        (("                if path in SIDE_PATHS:  # a fresh token refused", "                if False:  # a fresh token refused"),),
        ("tests/shopee/test_settlements_stream.py", "-k", "permission and escrow"),
    ),
    Mutant(
        "refused-stream-moves-its-cursor",
        "a refused side stream keeps its cursor, so nothing is skipped once the permission is granted",
        "simpul/engine.py",
        (("        plan = self._next_stream(account, plan, job, read=False)", "        plan = self._next_stream(account, plan, job)"),),
        ("tests/shopee/test_settlements_stream.py", "-k", "permission and return"),
    ),
    Mutant(
        "repair-through-the-version-guard",
        "a repair of named orders writes the channel's payload even over a newer stored version",
        "simpul/store.py",
        (("        _upsert_orders(conn, ctx, forced, guarded=False)", "        _upsert_orders(conn, ctx, forced)"),),
        ("tests/hostile/test_repair.py", "-k", "sqlite"),
    ),
)


class Stale(Exception):
    """The mutant's text is not (exactly once) in the source any more."""


def copy_project(into: Path) -> Path:
    target = into / "project"
    shutil.copytree(ROOT, target, ignore=SKIP)
    return target


def apply(mutant: Mutant, project: Path) -> None:
    path = project / mutant.path
    text = path.read_text()
    for old, new in mutant.edits:
        found = text.count(old)
        if found != 1:
            raise Stale(f"{mutant.path}: expected the text once, found it {found} times: {old.strip().splitlines()[0]!r}")
        text = text.replace(old, new)
    path.write_text(text)


def pytest(project: Path, args: tuple[str, ...]) -> tuple[int, str, float]:
    """Run pytest in the copy (its packages shadow the editable install); (status, summary, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if re.search(r"\b(passed|failed|error|no tests ran)\b", line)]
    return done.returncode, (lines[-1].strip("= ") if lines else done.stderr.strip()[-300:]), time.monotonic() - started


def check_it_is_the_copy(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(project)}
    where = subprocess.run([sys.executable, "-c", "import simpul.store; print(simpul.store.__file__)"], cwd=project, env=env, capture_output=True, text=True, check=True)
    if not Path(where.stdout.strip()).is_relative_to(project):
        raise SystemExit(f"the copy does not shadow the installed package (simpul imported from {where.stdout.strip()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutants: {', '.join(sorted(unknown))}")
    if args.list:
        for m in chosen:
            print(f"{m.name:42} {m.path:30} {m.guarantee}")
        return 0

    with tempfile.TemporaryDirectory(prefix="simpul-mutants-") as tmp, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        pristine = copy_project(Path(tmp))
        check_it_is_the_copy(pristine)
        # The unchanged code must pass every test a mutant relies on.
        suites = list(dict.fromkeys(m.tests for m in chosen))
        for test_args, (status, summary, _) in zip(suites, pool.map(lambda t: pytest(pristine, t), suites)):
            if status != 0:
                print(f"the unchanged code fails {' '.join(test_args)}: {summary}", file=sys.stderr)
                return 2

        def run(m: Mutant) -> tuple[Mutant, str, str, float]:
            work = Path(tmp) / m.name
            shutil.copytree(pristine, work)
            try:
                apply(m, work)
            except Stale as exc:
                return m, "stale", str(exc), 0.0
            status, summary, seconds = pytest(work, m.tests)
            shutil.rmtree(work, ignore_errors=True)
            return m, {0: "SURVIVED", 1: "caught"}.get(status, f"error ({status})"), summary, seconds

        results = list(pool.map(run, chosen))

    width = max(len(m.name) for m, *_ in results)
    print(f"{'mutant':{width}}  {'result':9} {'seconds':>7}  tests run -> outcome")
    for m, verdict, summary, seconds in results:
        print(f"{m.name:{width}}  {verdict:9} {seconds:7.1f}  {' '.join(m.tests)} -> {summary}")
    caught = sum(v == "caught" for _, v, *_ in results)
    print(f"{len(results)} mutants: {caught} caught, {len(results) - caught} not caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
