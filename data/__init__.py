"""Calibration facts and their sources, shipped as package data (``model.data``); see README.md."""
