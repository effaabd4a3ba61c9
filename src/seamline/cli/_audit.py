"""``seamline audit …`` and ``seamline erase``: verify, export, sign, rotate, purge, forget."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from seamline.audit import (
    KEY_FILE_ENV,
    UNSIGNED,
    VerifyReport,
    checkpoint,
    configured_sink,
    erase,
    export,
    load_signer,
    public_path,
    purge,
    replace_lost_key,
    rotate_key,
    signer_from_env,
    sink_for,
    story,
    trusted_keys,
    verify,
    verify_export,
    write_key_pair,
)
from seamline.cli._common import DbOption, console, fail, store_for
from seamline.durations import seconds as duration_s
from seamline.errors import AuditError, ConfigError

audit_app = typer.Typer(help="Verify the audit chain and read an event's story.", no_args_is_help=True)

CheckpointsOption = Annotated[str | None, typer.Option(
    "--checkpoints", help="Folder or URL of the signed checkpoints (default: the configured sink)")]
PublicKeyOption = Annotated[list[str] | None, typer.Option(
    "--public-key", help="Public key file to trust (PEM or base64); repeat for a lost key's successor")]


def print_report(report: VerifyReport, basis: str = "") -> None:
    """The verdict, every problem, and what the verdict rests on."""
    if report.ok:
        signed = (f"; {report.checkpoints} signed checkpoint(s) agree, through row "
                  f"{report.signed_through}" if report.checkpoints else "")
        console.print(f"[green]✓[/] audit chain verified: {report.rows} rows{signed}.")
    else:
        for p in report.problems:
            console.print(f"[red]✗[/] {p.what}")
    if basis:
        console.print(f"[dim]Checked against {basis}.[/]")
    for note in report.notes:
        console.print(f"[yellow]•[/] {note}")


def _signer_or_fail():
    signer = signer_from_env()
    if signer is None:
        fail(UNSIGNED, 2)
    return signer


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    checkpoints: CheckpointsOption = None,
    public_key: PublicKeyOption = None,
    export_file: Annotated[Path | None, typer.Option(
        "--export", help="Verify this export instead of the store (with --public-key and "
                         "--checkpoints: trusting neither the database nor its operator)")] = None,
):
    """Recompute the hash chain and hold it against the signed checkpoints; name every
    edited, deleted, reordered or rewritten row (exit 1 if any)."""
    try:
        keys, source = trusted_keys(public_key or [])
        if export_file is not None:
            if not export_file.is_file():
                fail(f"The export {export_file} does not exist.", 2)
            if keys and not checkpoints:
                fail("Verifying an export with a public key needs --checkpoints (the folder or "
                     "URL the checkpoints were published to).", 2)
            with export_file.open(encoding="utf-8") as fh:
                report = verify_export(fh, checkpoints=sink_for(checkpoints) if checkpoints else None,
                                       keys=keys)
            where = f"the export {export_file}"
        else:
            store = store_for(db)
            sink = sink_for(checkpoints) if checkpoints else configured_sink(store)
            report = verify(store, checkpoints=sink, keys=keys)
            where = f"the checkpoints in {sink.where}"
    except (ConfigError, AuditError) as exc:
        fail(str(exc), 2)
    print_report(report, f"{where} with {source}" if keys else "")
    if not report.ok:
        fail(f"The audit chain does not verify: {len(report.problems)} problem(s).", 1)


@audit_app.command("show")
def audit_show(event: Annotated[str, typer.Argument(help="Event id")], db: DbOption = None):
    """Tell the whole story of one event, from ingest to its last action."""
    rows = story(store_for(db), event)
    if not rows:
        fail(f"There is no audit record of event {event}.", 1)
    for r in rows:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["at"]))
        console.rule(f"#{r['seq']} {r['kind']}  [dim]{stamp} UTC")
        if r["payload"] is None:
            console.print("[dim](payload purged or erased; the row's hash remains)[/]")
        else:
            console.print_json(json.dumps(r["payload"], ensure_ascii=False))


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Argument(help="File to write (JSON lines)")],
    db: DbOption = None,
):
    """Write the whole chain to a file an auditor verifies with the public key alone."""
    with out.open("w", encoding="utf-8") as fh:
        n = export(store_for(db), fh)
    console.print(f"Exported {n} audit rows to {out}. Verify with: seamline audit verify "
                  f"--export {out} --checkpoints DIR|URL --public-key FILE")


@audit_app.command("checkpoint")
def audit_checkpoint(
    db: DbOption = None,
    checkpoints: CheckpointsOption = None,
):
    """Sign the chain's head now and publish every pending checkpoint (for cron, or before
    a backup); the runtime does this by itself every N rows or T seconds."""
    signer = _signer_or_fail()
    store = store_for(db)
    sink = sink_for(checkpoints) if checkpoints else configured_sink(store)
    try:
        done = checkpoint(store, signer, sink)
    except AuditError as exc:
        fail(str(exc), 1)
    if done.checkpoint is None:
        console.print(f"The head has not moved since the last checkpoint; {done.published} "
                      f"pending checkpoint(s) published to {sink.where}.")
    else:
        cp = done.checkpoint
        console.print(f"Checkpoint {cp.idx} signed with key {cp.key_id}: row {cp.seq}, published "
                      f"to {sink.where} ({done.published} sent).")


@audit_app.command("keygen")
def audit_keygen(path: Annotated[Path, typer.Argument(help="Where to write the private key (mode 0600)")]):
    """Create an Ed25519 signing key and its public key (FILE.pub) for verifiers."""
    try:
        signer = write_key_pair(path)
    except ConfigError as exc:
        fail(str(exc), 2)
    console.print(f"Signing key {signer.key_id} written to {path} (keep it out of the database "
                  f"and its backups); public key: {public_path(path.expanduser())}. "
                  f"Set {KEY_FILE_ENV}={path}.")


@audit_app.command("rotate-key")
def audit_rotate_key(
    new_key: Annotated[Path, typer.Option("--new-key", help="The next signing key's file "
                                                            "(seamline audit keygen)")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")] = "scheduled rotation",
    lost: Annotated[bool, typer.Option(
        "--lost", help="The current key is lost: record a replacement, which verifiers accept "
                       "only when given the new public key")] = False,
    db: DbOption = None,
    checkpoints: CheckpointsOption = None,
):
    """Rotate the signing key: an audit row, and a checkpoint under the old key announcing
    the new one. Then point the environment at the new key."""
    try:
        new = load_signer(new_key)
        store = store_for(db)
        sink = sink_for(checkpoints) if checkpoints else configured_sink(store)
        if lost:
            cp = replace_lost_key(store, new, sink, reason=reason, actor=getpass.getuser())
            console.print(f"Key {new.key_id} replaces a lost key from row {cp.seq} on. Give "
                          "verifiers its public key as well as the old one.")
        else:
            old = _signer_or_fail()
            if old.key_id == new.key_id:
                fail("The new key is the current key.", 2)
            cp = rotate_key(store, old, new, sink, reason=reason, actor=getpass.getuser())
            console.print(f"Rotated {old.key_id} → {new.key_id} at checkpoint {cp.idx} (row "
                          f"{cp.seq}). Set {KEY_FILE_ENV}={new_key} now.")
    except (ConfigError, AuditError) as exc:
        fail(str(exc), 2)


@audit_app.command("purge")
def audit_purge(
    older_than: Annotated[str, typer.Option("--older-than", help="Retention, e.g. 400d")],
    db: DbOption = None,
):
    """Drop audit payloads older than the retention; every row's hash stays, so the chain
    and its checkpoints still verify."""
    try:
        seconds = duration_s(older_than)
    except ConfigError as exc:
        fail(f"--older-than takes a duration such as 400d: {exc}", 2)
    if seconds <= 0:
        fail("--older-than must be a positive duration such as 400d.", 2)
    done = purge(store_for(db), older_than_s=seconds, actor=getpass.getuser())
    cutoff = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(done.older_than))
    console.print(f"Purged the payloads of {done.rows} audit row(s) older than {cutoff}; their "
                  "hashes stay and the purge is an audit row."
                  + (f" {done.kept_legacy} row(s) from before signing was added hash their payload "
                     "itself and were kept whole." if done.kept_legacy else ""))


def erase_cmd(
    subject: Annotated[str, typer.Argument(help="Who to forget: an e-mail, a customer id, a name")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail; must not "
                                                         "name the subject)")],
    db: DbOption = None,
):
    """Forget a person: their vault values, queued raw events, and every copy of the value
    in the store, while the audit chain still verifies."""
    store = store_for(db)
    try:
        done = erase(store, subject, reason=reason, actor=getpass.getuser())
    except ConfigError as exc:
        fail(str(exc), 2)
    replaced = sum(done.replaced.values())
    console.print(f"Erased subject {done.subject[:16]}…: {done.vault_values} vault value(s) of "
                  f"{done.events} event(s), {done.jobs} queued job(s), {replaced} stored text(s) "
                  f"and the payloads of {len(done.audit_rows)} audit row(s); the chain's hashes "
                  "are unchanged.")
    if done.legacy_rows:
        console.print(f"[yellow]{len(done.legacy_rows)} audit row(s) from before migration 0014 "
                      f"mention the subject and hash their payload itself: kept (rows "
                      f"{', '.join(map(str, done.legacy_rows[:10]))}).[/]")
    report = verify(store)
    if not report.ok:
        fail("The audit chain does not verify after the erasure: seamline audit verify.", 1)
