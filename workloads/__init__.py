"""Workloads: one plain module each. See README.md, "Write your own workload"."""
