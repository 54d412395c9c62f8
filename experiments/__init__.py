"""Batch experiments on the alliance model: designs, sweeps, stores and analysis.

This package imports :mod:`model`; the model never imports it.
"""
