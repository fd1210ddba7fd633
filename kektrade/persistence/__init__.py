"""The run database (peewee on SQLite): ``database.open_run_database`` and the ``journal.SqliteJournal``.

The only package that imports peewee.
"""
