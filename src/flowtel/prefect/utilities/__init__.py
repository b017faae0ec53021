"""Prefect's ``prefect.utilities``: only ``annotations`` is provided."""
