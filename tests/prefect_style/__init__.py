"""Flows written the way Prefect 3's documentation writes them; only the imports differ.

Each module is Prefect code whose ``from prefect import ...`` lines now read
``from flowtel.prefect import ...``. Network calls and long sleeps of the documentation's
examples are replaced by small in-process stand-ins (marked ``stand-in``) so that the
suite runs offline and fast; the Prefect API usage is unchanged.
"""
