"""Lead Flow Intelligence: thin Python glue around a SQL-first core."""
