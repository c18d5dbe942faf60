"""LMS backend package."""
