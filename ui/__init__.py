"""Streamlit view helpers shared by the pages (no rules here: those live in workbench)."""
