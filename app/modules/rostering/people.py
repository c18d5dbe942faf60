"""Users and roles: OneRoster users become accounts, their primary role the account's role."""

from __future__ import annotations

import uuid

from app.core.permissions import Role
from app.core.tasks import defer
from app.core.validation import valid_email
from app.modules.rostering import repository
from app.modules.rostering.archive import Row
from app.modules.rostering.models import SourceKind
from app.modules.rostering.run import Counts, ImportRun, Prepared, RowRefused, forget, remember
from app.modules.users.models import User

# The OneRoster roles (users' and enrollments') and the account role each becomes here.
USER_ROLES: dict[str, Role] = {
    "student": Role.STUDENT,
    "teacher": Role.INSTRUCTOR,
    "administrator": Role.ADMIN,
    "districtAdministrator": Role.ADMIN,
    "siteAdministrator": Role.ADMIN,
    "systemAdministrator": Role.ADMIN,
}
# Dry run only: the sourcedIds that name the importing administrator's account.
IMPORTER = "importer"


def _email_of(row: Row) -> str:
    for candidate in (row.get("email"), row.get("username")):
        if "@" in candidate:
            return valid_email(candidate)
    raise RowRefused("no email address (email, or a username that is one)")


def _full_name(row: Row) -> str:
    given = row.get("preferredGivenName") or row.get("givenName")
    family = row.get("preferredFamilyName") or row.get("familyName")
    name = f"{given} {family}".strip()
    if not row.get("givenName") or not row.get("familyName"):
        raise RowRefused("givenName and familyName are required")
    if len(name) > 200:
        raise RowRefused("the name is longer than 200 characters")
    return name


def _enabled(row: Row) -> bool:
    value = row.get("enabledUser").lower()
    if value not in ("true", "false"):
        raise RowRefused("enabledUser must be true or false")
    return value == "true"


def _user_role(value: str) -> Role | None:
    if not value:
        return None
    if value not in USER_ROLES:
        raise RowRefused(f"role {value} has no counterpart here (see the role mapping)")
    return USER_ROLES[value]


def _deactivate(user: User) -> None:
    if user.is_active:
        user.is_active = False
        user.token_version += 1


def users(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    checked: list[tuple[Prepared, str, str, bool, Role | None]] = []
    emails_in_batch: set[str] = set()
    for item in items:
        if item.deleting:
            checked.append((item, "", "", False, None))
            continue
        try:
            email = _email_of(item.row)
            name = _full_name(item.row)
            enabled = _enabled(item.row)
            role = _user_role(item.row.get("role"))
        except (RowRefused, ValueError) as exc:
            refused[item.row.line] = str(exc)
            continue
        if email in emails_in_batch:
            refused[item.row.line] = f"email {email} appears twice in the batch"
            continue
        emails_in_batch.add(email)
        checked.append((item, email, name, enabled, role))
    mapped = repository.users_by_id(
        run.db, {i.source.local_id for i, *_ in checked if i.source and i.source.local_id}
    )
    by_email = repository.users_by_email(run.db, emails_in_batch)
    importer = run.record.created_by_id
    invited: list[User] = []
    gone: list[Prepared] = []
    for item, email, name, enabled, role in checked:
        user = mapped.get(item.source.local_id) if item.source and item.source.local_id else None
        if item.deleting:
            # The importing administrator's own account is never changed by their import.
            if user is None or user.id == importer:
                counts.skipped += 1
                continue
            if not run.dry_run:
                _deactivate(user)
            gone.append(item)
            counts.deleted += 1
            continue
        owner = by_email.get(email)
        if owner is not None and user is not None and owner.id != user.id:
            refused[item.row.line] = f"email {email} belongs to another account"
            continue
        user = user or owner
        if user is not None and user.id == importer:
            # The importing administrator's own account is never changed by their import (no
            # name, email, role or state of theirs comes from a CSV): the row is skipped, but
            # its sourcedId still names the account, so roles and enrollments can refer to it.
            counts.skipped += 1
            run.declare(SourceKind.USER, item.sourced_id, user.role)
            run.declare(IMPORTER, item.sourced_id)
            if not run.dry_run:
                remember(run, SourceKind.USER, item, local_id=user.id)
            continue
        run.declare(SourceKind.USER, item.sourced_id, (role or Role.STUDENT).value)
        if user is None:
            counts.created += 1
            if run.dry_run:
                continue
            user = User(
                id=uuid.uuid4(),
                email=email,
                password_hash=None,
                full_name=name,
                role=(role or Role.STUDENT).value,
                is_active=enabled,
            )
            run.db.add(user)
            invited.append(user)
        else:
            counts.updated += 1
            if run.dry_run:
                continue
            user.email, user.full_name = email, name
            if role is not None:
                user.role = role.value
            if enabled:
                user.is_active = True
            else:
                _deactivate(user)
        remember(run, SourceKind.USER, item, local_id=user.id)
    if not run.dry_run:
        forget(run, gone)
        invite = [str(user.id) for user in invited if user.is_active]
        if invite:
            from app.modules.rostering.tasks import invite_users

            # One task per batch, once it commits: mailing is not the import's time.
            defer(run.db, invite_users, invite)
    return refused


def roles(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    users = run.known(SourceKind.USER, (i.row.get("userSourcedId") for i in items))
    targets = repository.users_by_id(
        run.db, {s.local_id for s in users.values() if s is not None and s.local_id}
    )
    importer = run.record.created_by_id
    for item in items:
        row = item.row
        if item.deleting or row.get("roleType") != "primary":
            # Only the primary role decides the account's role; a removed role row leaves
            # the account's role as it is until another primary role names one.
            counts.skipped += 1
            continue
        try:
            role = _user_role(row.get("role"))
        except RowRefused as exc:
            refused[row.line] = str(exc)
            continue
        if row.get("userSourcedId") not in users:
            refused[row.line] = f"userSourcedId {row.get('userSourcedId')} is unknown"
            continue
        source = users[row.get("userSourcedId")]
        user = targets.get(source.local_id) if source and source.local_id else None
        own = row.get("userSourcedId") in run.declared.get(IMPORTER, {})
        if own or (user is not None and user.id == importer):
            # The importing administrator's own role never changes.
            counts.skipped += 1
            continue
        counts.updated += 1
        if run.dry_run:
            run.declare(SourceKind.USER, row.get("userSourcedId"), (role or Role.STUDENT).value)
            continue
        if user is not None and role is not None:
            user.role = role.value
    return refused
