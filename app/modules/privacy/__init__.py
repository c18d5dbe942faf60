"""Learners' data rights: an export of everything held about a person, and erasure.

This module sits above every other: it reads their tables to export and erase, and no module
imports it. A module with personal data of its own adds one contributor to
`contributors.CONTRIBUTORS` (what goes in the export) and one eraser to `erasure.ERASERS`.
"""
