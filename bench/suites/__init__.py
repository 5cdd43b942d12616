"""Suites of workloads gilbench does not ship, each a module the registry reaches by its names' prefix (SUITES)."""
