"""Sections of a course and their items: creating, ordering, moving items, release rules.

Every change locks the course row first, so concurrent reorders and moves of one course run
one after the other and positions stay dense. Who may open an item is
`app.modules.courses.release`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import BusinessRuleViolation, Conflict, NotFound
from app.modules.courses import changes
from app.modules.courses import sections_repository as repository
from app.modules.courses.access import Capability, course_access, get_owned_course
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    Course,
    CourseSection,
    ItemKind,
    ReleasePrerequisite,
    SectionItem,
)
from app.modules.courses.sections_schemas import (
    ItemIn,
    ItemRead,
    PrerequisiteIn,
    PrerequisiteRead,
    SectionCreate,
    SectionRead,
    SectionUpdate,
)
from app.modules.users.models import User

DEFAULT_SECTION_TITLE = "Course content"
_RELEASE_FIELDS = ("available_from", "available_until", "release_after_days")


class SectionNotFound(NotFound):
    code = "section_not_found"


def _section_of(db: Session, course: Course, section_id: uuid.UUID) -> CourseSection:
    section = repository.get_section(db, section_id)
    if section is None or section.course_id != course.id:
        raise SectionNotFound("Section not found")
    return section


# --- reading ---------------------------------------------------------------------------------


def _prerequisite_reads(
    rows: Iterable[ReleasePrerequisite], items: dict[uuid.UUID, SectionItem]
) -> list[PrerequisiteRead]:
    reads = []
    for row in rows:
        required = items.get(row.required_item_id) if row.required_item_id else None
        reads.append(
            PrerequisiteRead(
                kind=ItemKind(required.kind) if required else None,
                id=required.target_id if required else None,
                section_id=row.required_section_id,
                min_score_percent=row.min_score_percent,
            )
        )
    return reads


def _reads(db: Session, course_id: uuid.UUID, *, manager: bool) -> list[SectionRead]:
    """The course's sections with their items (a constant number of statements); a student
    sees published sections and published items only."""
    sections = repository.sections_of_course(db, course_id)
    items = repository.items_of_course(db, course_id)
    targets = repository.targets_of_course(db, course_id)
    by_id = {item.id: item for item in items}
    needs: dict[uuid.UUID, list[ReleasePrerequisite]] = {}
    for row in repository.prerequisites_of_course(db, course_id):
        dependent = row.item_id or row.section_id
        assert dependent is not None
        needs.setdefault(dependent, []).append(row)
    reads = []
    for section in sections:
        if not (manager or section.is_published):
            continue
        entries = []
        for item in (item for item in items if item.section_id == section.id):
            target = targets[(ItemKind(item.kind), item.target_id)]
            if not (manager or target.is_published):
                continue
            entries.append(
                ItemRead(
                    item_id=item.id,
                    kind=ItemKind(item.kind),
                    id=item.target_id,
                    title=target.title,
                    is_published=target.is_published,
                    is_required=item.is_required,
                    position=item.position,
                    **{name: getattr(item, name) for name in _RELEASE_FIELDS},
                    prerequisites=_prerequisite_reads(needs.get(item.id, []), by_id),
                )
            )
        reads.append(
            SectionRead(
                id=section.id,
                course_id=section.course_id,
                title=section.title,
                description=section.description,
                position=section.position,
                is_published=section.is_published,
                **{name: getattr(section, name) for name in _RELEASE_FIELDS},
                prerequisites=_prerequisite_reads(needs.get(section.id, []), by_id),
                items=entries,
            )
        )
    return reads


def list_sections(db: Session, *, course_id: uuid.UUID, user: User | None) -> list[SectionRead]:
    """The structure for everyone who may see the course (drafts for its managers only)."""
    access = course_access(db, course_id=course_id, user=user)
    return _reads(db, access.course.id, manager=access.manager)


def get_section(
    db: Session, *, course_id: uuid.UUID, section_id: uuid.UUID, user: User | None
) -> SectionRead:
    access = course_access(db, course_id=course_id, user=user)
    for read in _reads(db, access.course.id, manager=access.manager):
        if read.id == section_id:
            return read
    raise SectionNotFound("Section not found")


def _read_one(db: Session, course_id: uuid.UUID, section_id: uuid.UUID) -> SectionRead:
    return next(read for read in _reads(db, course_id, manager=True) if read.id == section_id)


# --- release rules -----------------------------------------------------------------------------


def _prerequisite_rows(
    db: Session, course_id: uuid.UUID, specs: Sequence[PrerequisiteIn]
) -> list[dict[str, Any]]:
    """The rows for `specs`; each named item must be in a section of this course, each named
    section a section of this course (422 otherwise, never a silent link)."""
    rows: list[dict[str, Any]] = []
    for spec in specs:
        if spec.section_id is not None:
            section = repository.get_section(db, spec.section_id)
            if section is None or section.course_id != course_id:
                raise BusinessRuleViolation(
                    "A prerequisite names a section that is not in this course",
                    code="prerequisite_not_in_course",
                    extra={"section_id": str(spec.section_id)},
                )
            rows.append({"required_section_id": section.id})
            continue
        assert spec.kind is not None and spec.id is not None
        item = repository.items_by_target(db, course_id, spec.kind, [spec.id]).get(spec.id)
        if item is None:
            raise BusinessRuleViolation(
                "A prerequisite names an item that is not in a section of this course",
                code="prerequisite_not_in_course",
                extra={"kind": spec.kind.value, "id": str(spec.id)},
            )
        rows.append({"required_item_id": item.id, "min_score_percent": spec.min_score_percent})
    return rows


def _check_window(row: CourseSection | SectionItem) -> None:
    if row.available_from and row.available_until and row.available_until <= row.available_from:
        raise BusinessRuleViolation(
            "available_until must be after available_from", code="invalid_release_window"
        )


def _find_cycle(edges: dict[uuid.UUID, set[uuid.UUID]]) -> list[uuid.UUID] | None:
    """A cycle of `edges` (item -> the items it waits for), as the items forming it."""
    state: dict[uuid.UUID, int] = {}  # 1: on the current path, 2: done
    path: list[uuid.UUID] = []

    def walk(node: uuid.UUID) -> list[uuid.UUID] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :]
            if target not in state and (found := walk(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := walk(start)):
            return found
    return None


def _check_cycles(db: Session, course_id: uuid.UUID) -> None:
    """Refuse prerequisites that wait on each other: an item waits for what it and its
    section require, a required section for each of its required items."""
    db.flush()
    items = repository.items_of_course(db, course_id)
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for item in items:
        if item.is_required:
            members.setdefault(item.section_id, []).append(item.id)
    needs: dict[uuid.UUID, set[uuid.UUID]] = {}
    for row in repository.prerequisites_of_course(db, course_id):
        required = (
            {row.required_item_id}
            if row.required_item_id
            else set(members.get(row.required_section_id or uuid.UUID(int=0), []))
        )
        dependent = row.item_id or row.section_id
        assert dependent is not None
        needs.setdefault(dependent, set()).update(required)
    edges = {
        item.id: needs.get(item.id, set()) | needs.get(item.section_id, set()) for item in items
    }
    cycle = _find_cycle(edges)
    if cycle:
        by_id = {item.id: item for item in items}
        raise BusinessRuleViolation(
            "These items' prerequisites wait on each other",
            code="prerequisite_cycle",
            extra={
                "items": [
                    {
                        "item_id": str(item_id),
                        "kind": by_id[item_id].kind,
                        "id": str(by_id[item_id].target_id),
                    }
                    for item_id in cycle
                ]
            },
        )


# --- sections ----------------------------------------------------------------------------------


def create_section(
    db: Session, *, course_id: uuid.UUID, user: User, data: SectionCreate
) -> SectionRead:
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    section = CourseSection(
        course_id=course.id,
        title=data.title,
        description=data.description,
        is_published=data.is_published,
        position=repository.next_section_position(db, course.id),
        **{name: getattr(data, name) for name in _RELEASE_FIELDS},
    )
    db.add(section)
    db.flush()
    repository.replace_prerequisites(
        db,
        course_id=course.id,
        section_id=section.id,
        rows=_prerequisite_rows(db, course.id, data.prerequisites),
    )
    _check_cycles(db, course.id)
    return _read_one(db, course.id, section.id)


def update_section(
    db: Session, *, course_id: uuid.UUID, section_id: uuid.UUID, user: User, data: SectionUpdate
) -> SectionRead:
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    section = _section_of(db, course, section_id)
    fields = data.model_dump(exclude_unset=True, exclude={"prerequisites"})
    publication_changes = fields.get("is_published", section.is_published) != section.is_published
    for name, value in fields.items():
        setattr(section, name, value)
    _check_window(section)
    db.flush()
    if publication_changes:
        # The section's lessons join or leave what every learner's progress counts.
        changes.lessons_changed(db, course.id)
    if data.prerequisites is not None:
        repository.replace_prerequisites(
            db,
            course_id=course.id,
            section_id=section.id,
            rows=_prerequisite_rows(db, course.id, data.prerequisites),
        )
        _check_cycles(db, course.id)
    return _read_one(db, course.id, section.id)


def delete_section(db: Session, *, course_id: uuid.UUID, section_id: uuid.UUID, user: User) -> None:
    """Delete an empty section (move or remove its items first: content never drops out of
    the structure by accident)."""
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    section = _section_of(db, course, section_id)
    if any(item.section_id == section.id for item in repository.items_of_course(db, course.id)):
        raise Conflict("Move or remove the section's items first", code="section_not_empty")
    db.delete(section)
    db.flush()
    repository.set_section_order(
        db, course.id, [row.id for row in repository.sections_of_course(db, course.id)]
    )


def reorder_sections(
    db: Session, *, course_id: uuid.UUID, user: User, section_ids: list[uuid.UUID]
) -> list[SectionRead]:
    """Apply a full ordering atomically: the list must name every section exactly once."""
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    current = {section.id for section in repository.sections_of_course(db, course.id)}
    if len(section_ids) != len(set(section_ids)) or set(section_ids) != current:
        raise BusinessRuleViolation(
            "section_ids must list every section of the course exactly once",
            code="invalid_section_order",
            extra={"expected_count": len(current)},
        )
    repository.set_section_order(db, course.id, section_ids)
    return _reads(db, course.id, manager=True)


# --- items -------------------------------------------------------------------------------------


def _targets_exist(db: Session, course_id: uuid.UUID, entries: Sequence[ItemIn]) -> None:
    for kind in ITEM_TARGET_COLUMNS:
        wanted = {entry.id for entry in entries if entry.kind is kind}
        found = repository.targets_in_course(db, course_id, kind, wanted)
        if wanted - found:
            raise BusinessRuleViolation(
                f"Some {kind.value} ids are not {kind.value}s of this course",
                code="item_not_in_course",
                extra={"kind": kind.value, "ids": sorted(str(i) for i in wanted - found)},
            )


def set_items(
    db: Session, *, course_id: uuid.UUID, section_id: uuid.UUID, user: User, items: list[ItemIn]
) -> SectionRead:
    """Make `items` the section's items in this order: listed items of other sections move
    here (their sections close the gap). Every item of this section must be listed: content
    never drops out of the structure (where no release rule, outline or completion count
    would reach it); move an item by listing it in another section, or delete it. One
    transaction; a bad entry changes nothing."""
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    section = _section_of(db, course, section_id)
    keys = [(entry.kind, entry.id) for entry in items]
    listed = set(keys)
    if len(keys) != len(listed):
        raise BusinessRuleViolation("An item is listed twice", code="duplicate_item")
    _targets_exist(db, course.id, items)
    left_out = [
        item
        for item in repository.items_of_course(db, course.id)
        if item.section_id == section.id and (ItemKind(item.kind), item.target_id) not in listed
    ]
    if left_out:
        raise BusinessRuleViolation(
            "Every item of the section must be listed: move an item by listing it in another "
            "section's items, or delete it",
            code="item_left_out",
            extra={"items": [{"kind": i.kind, "id": str(i.target_id)} for i in left_out]},
        )
    existing: dict[tuple[ItemKind, uuid.UUID], SectionItem] = {}
    for kind in ITEM_TARGET_COLUMNS:
        ids = [entry.id for entry in items if entry.kind is kind]
        for target_id, found in repository.items_by_target(db, course.id, kind, ids).items():
            existing[(kind, target_id)] = found
    # The sections items move out of close their gaps once the move is done.
    sources = {row.section_id for row in existing.values() if row.section_id != section.id}
    placed: list[tuple[SectionItem, ItemIn]] = []
    for position, entry in enumerate(items):
        row = existing.get((entry.kind, entry.id))
        if row is None:
            # Content written straight into its table (bulk loads) is placed when first listed.
            column, _table = ITEM_TARGET_COLUMNS[entry.kind]
            row = SectionItem(course_id=course.id, kind=entry.kind.value, **{column: entry.id})
            db.add(row)
        row.section_id = section.id
        row.position = position
        row.is_required = entry.is_required
        for name in _RELEASE_FIELDS:
            setattr(row, name, getattr(entry, name))
        placed.append((row, entry))
    db.flush()
    if sources:
        remaining = repository.items_of_course(db, course.id)
        for source in sources:
            repository.set_item_order(
                db, source, [item.id for item in remaining if item.section_id == source]
            )
    for row, entry in placed:
        repository.replace_prerequisites(
            db,
            course_id=course.id,
            item_id=row.id,
            rows=_prerequisite_rows(db, course.id, entry.prerequisites),
        )
    _check_cycles(db, course.id)
    # Which lessons are required may have changed, and with it every learner's progress.
    changes.lessons_changed(db, course.id)
    return _read_one(db, course.id, section.id)


def place_item(
    db: Session,
    *,
    course_id: uuid.UUID,
    kind: ItemKind,
    target_id: uuid.UUID,
    section_id: uuid.UUID | None,
) -> SectionItem:
    """Put new content at the end of `section_id` (a section of the same course: 422
    otherwise), or of the course's last section, created when there is none. The caller has
    locked the course."""
    if section_id is not None:
        section = repository.get_section(db, section_id)
        if section is None or section.course_id != course_id:
            raise BusinessRuleViolation(
                "section_id is not a section of this course", code="section_not_in_course"
            )
    else:
        section = repository.last_section(db, course_id)
        if section is None:
            section = CourseSection(
                course_id=course_id, title=DEFAULT_SECTION_TITLE, is_published=True, position=0
            )
            db.add(section)
            db.flush()
    column, _table = ITEM_TARGET_COLUMNS[kind]
    item = SectionItem(
        course_id=course_id,
        section_id=section.id,
        kind=kind.value,
        position=repository.next_item_position(db, section.id),
        **{column: target_id},
    )
    db.add(item)
    db.flush()
    return item


class ItemNotFound(NotFound):
    code = "item_not_found"


def get_item(db: Session, *, course_id: uuid.UUID, item_id: uuid.UUID) -> SectionItem:
    """A section item of the course (404 otherwise); who may open it is the release rule."""
    item = repository.get_item(db, item_id)
    if item is None or item.course_id != course_id:
        raise ItemNotFound("Item not found")
    return item


def has_published_item(db: Session, *, course_id: uuid.UUID) -> bool:
    """Whether some published section holds a published item (publishing needs one)."""
    return repository.published_item_exists(db, course_id)
