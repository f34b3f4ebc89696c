"""Columnar analytics over customers and orders (numpy).

Frames, features, scoring and the statistical models live in the modules and
packages of :mod:`custmgmt.analytics`; import them from there, e.g.
:mod:`custmgmt.analytics.clv` for the customer-lifetime models. This package
imports nothing itself, so ``import custmgmt`` stays light.
"""
