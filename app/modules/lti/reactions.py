"""The rules LTI hands to the modules it builds on: for the release rule an LTI item is
started by a score from its tool and completed by a fully graded one."""

from __future__ import annotations

from app.modules.courses.models import ItemKind
from app.modules.courses.release import register_completion
from app.modules.lti.grades import link_completions

register_completion(ItemKind.LTI, link_completions)
