"""Consultation workflow for inter-municipal mayors' forums."""
