"""Reusable views: diff, chain, findings, plan checklist."""
