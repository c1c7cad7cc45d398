"""Console pages of investigators and supervisors: check, upload, preview, results, cases.

A list goes through three steps, none of which sends anything until the last: upload (the
file is kept as an ``Upload`` row), preview (detected encoding and delimiter, the column
mapping, the first rows mapped, and every bad row by its line), confirm (the check is
queued and the browser goes to its page, which shows progress and then the results).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete
from sqlmodel import col

from fedlookup.errors import InputError
from node.desk.api.deps import CurrentInvestigator, Principal, State, may_see, principal
from node.desk.api.routes.cases import case_checks
from node.desk.asking import RowError, firearm_items
from node.desk.exports import MEDIA_TYPES, render_export
from node.desk.jobs import BudgetExceededError
from node.desk.models import Account, DeskCheck, Upload, utcnow
from node.desk.uploads import ENCODINGS, ParsedList, guess_columns, map_rows, parse_list
from node.desk.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(principal)]
_MAX_UPLOAD = 20 * 1024 * 1024
_PREVIEW_ROWS = 10
Text = Annotated[str, Form(max_length=500)]


def _submit(
    request: Request, who: Principal, state: State, firearms: list[tuple[str, str]],
    case: str, purpose: str, legal_basis: str, source: str,
) -> Response:  # fmt: skip
    try:
        check = state.queue.submit(
            who.account, case_id=case, purpose=purpose, legal_basis=legal_basis,
            firearms=firearms, source=source,
        )  # fmt: skip
    except BudgetExceededError as exc:
        return render(request, "error.html", who, message=str(exc), status_code=429)
    return RedirectResponse(f"/checks/{check.id}", status_code=303)


@router.post("/checks")
def single_check(
    request: Request,
    account: CurrentInvestigator,
    who: Annotated[Principal, Depends(principal)],
    state: State,
    case: Text,
    purpose: Text,
    make: Text,
    serial: Text,
    legal_basis: Text = "",
) -> Response:
    """Check one firearm typed into the form."""
    _, errors = firearm_items([(make, serial)])
    if errors or not case.strip() or not purpose.strip():
        return render(request, "error.html", who, status_code=422, row_errors=errors,
                      message="check.invalid")  # fmt: skip
    return _submit(request, who, state, [(make, serial)], case, purpose, legal_basis, "form")


@router.post("/uploads")
async def upload(
    request: Request,
    account: CurrentInvestigator,
    state: State,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Keep an uploaded list for its preview."""
    data = await file.read(_MAX_UPLOAD + 1)
    if len(data) > _MAX_UPLOAD:
        raise HTTPException(413, "the file is larger than 20 MiB")
    assert account.id is not None
    row = Upload(id=uuid.uuid4().hex, account_id=account.id,
                 filename=(file.filename or "list")[:200], data=data)  # fmt: skip
    with state.db.session() as db:
        # Lists never confirmed are dropped after a day (they hold plaintext serials).
        stale = utcnow() - timedelta(days=1)
        db.execute(delete(Upload).where(col(Upload.created_at) < stale))
        db.add(row)
    return RedirectResponse(f"/uploads/{row.id}", status_code=303)


def _upload(state: State, account: Account, upload_id: str) -> Upload:
    with state.db.session() as db:
        row = db.get(Upload, upload_id)
    if row is None or row.account_id != account.id:
        raise HTTPException(404, "no such upload")
    return row


def _preview(
    request: Request, who: Principal, row: Upload, params: dict[str, str], status: int = 200,
    extra_errors: list[RowError] | None = None,
) -> Response:  # fmt: skip
    try:
        parsed = parse_list(row.data, row.filename, encoding=params.get("encoding") or None,
                            delimiter=_delimiter(params.get("delimiter")))  # fmt: skip
    except InputError as exc:
        return render(request, "error.html", who, message=str(exc), status_code=422)
    guess_make, guess_serial = guess_columns(parsed.columns)
    make = _index(params.get("make"), guess_make)
    serial = _index(params.get("serial"), guess_serial)
    pairs: list[tuple[str, str]] = []
    errors: list[RowError] = []
    if make is not None and serial is not None:
        try:
            pairs, errors = map_rows(parsed, make, serial)
        except InputError as exc:
            errors = [RowError(1, exc.field or "", exc.reason)]
    return render(
        request, "preview.html", who, status_code=status, upload=row, parsed=parsed,
        encodings=ENCODINGS, delimiters=_DELIMITER_NAMES, make=make, serial=serial,
        preview=pairs[:_PREVIEW_ROWS], count=len(pairs), row_errors=errors + (extra_errors or []),
        form=params, delimiter_key=_delimiter_key(parsed),
    )  # fmt: skip


_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def _delimiter(key: str | None) -> str | None:
    return _DELIMITER_NAMES.get(key or "")


def _delimiter_key(parsed: ParsedList) -> str:
    return next((k for k, v in _DELIMITER_NAMES.items() if v == parsed.delimiter), "")


def _index(value: str | None, default: int | None) -> int | None:
    return int(value) if value and value.isdigit() else default


@router.get("/uploads/{upload_id}")
def preview(upload_id: str, request: Request, account: CurrentInvestigator, who: Who,
            state: State) -> Response:  # fmt: skip
    """What was detected, the mapping, the first rows, and every bad row."""
    row = _upload(state, account, upload_id)
    return _preview(request, who, row, dict(request.query_params))


@router.post("/uploads/{upload_id}")
async def confirm(upload_id: str, request: Request, account: CurrentInvestigator, who: Who,
                  state: State) -> Response:  # fmt: skip
    """Send the confirmed list (only when no row has an error)."""
    row = _upload(state, account, upload_id)
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    case, purpose = form.get("case", "").strip(), form.get("purpose", "").strip()
    missing = [RowError(0, n, "empty value") for n, v in (("case", case), ("purpose", purpose))
               if not v]  # fmt: skip
    try:
        parsed = parse_list(row.data, row.filename, encoding=form.get("encoding") or None,
                            delimiter=_delimiter(form.get("delimiter")))  # fmt: skip
        pairs, errors = map_rows(parsed, int(form.get("make", "-1")), int(form.get("serial", "-1")))
    except (InputError, ValueError):
        return _preview(request, who, row, form, 422)
    if errors or missing:
        return _preview(request, who, row, form, 422, missing)
    response = _submit(request, who, state, pairs, case, purpose, form.get("legal_basis", ""),
                       row.filename)  # fmt: skip
    with state.db.session() as db:
        stored = db.get(Upload, row.id)
        if stored is not None:
            db.delete(stored)  # the list now lives in the check; keep no second copy
    return response


def _check(state: State, viewer: Account, check_id: str) -> tuple[DeskCheck, Account]:
    with state.db.session() as db:
        check = db.get(DeskCheck, check_id)
        owner = db.get(Account, check.account_id) if check is not None else None
    if check is None or owner is None or not may_see(viewer, owner):
        raise HTTPException(404, "no such check")
    return check, owner


@router.get("/checks/{check_id}")
def check_page(check_id: str, request: Request, who: Who, state: State) -> Response:
    """A check: progress while it runs, then the answers per firearm per country."""
    check, owner = _check(state, who.account, check_id)
    document: dict[str, Any] | None = json.loads(check.result) if check.result else None
    return render(request, "check.html", who, check=check, owner=owner, doc=document)


@router.get("/checks/{check_id}/export.{fmt}")
def export(check_id: str, fmt: str, who: Who, state: State) -> Response:
    """The result as CSV, XLSX or JSON."""
    check, _ = _check(state, who.account, check_id)
    if fmt not in MEDIA_TYPES or not check.result:
        raise HTTPException(404, "no such export")
    name = f"fedlookup-{check.case_id}-{check.id[:8]}.{fmt}".replace('"', "")
    return Response(
        render_export(json.loads(check.result), fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, who: Who, state: State) -> Response:
    """Every check under a case that the viewer may see."""
    with state.db.session() as db:
        rows = case_checks(db, who.account, case_id)
    return render(request, "case.html", who, case_id=case_id, rows=rows)
