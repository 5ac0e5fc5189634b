"""Agent Workbench: every rule of the product lives in this package."""
