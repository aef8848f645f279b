"""Auditor sampling: a reproducible sample with a verifiable evidence bundle.

``opsledger sample`` takes the population of one record kind in a period
(:mod:`~opsledger.sampling.population`), draws a sample by a published rule anyone can redo
by hand (SHA-256 of ``SEED:ID``, first N; N from ``sampling.sizes``:
:mod:`~opsledger.sampling.settings`), and writes per sampled record the evidence an auditor
asks for (:mod:`~opsledger.sampling.bundle`, verdicts from the audit's findings:
:mod:`~opsledger.sampling.evidence`). ``opsledger sample verify`` derives the bundle again
from the repository at its commit and names what differs (:mod:`~opsledger.sampling.verify`).
Record kinds are one table (:mod:`~opsledger.sampling.kinds`).
"""
