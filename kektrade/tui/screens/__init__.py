"""Screens and dialogs: detail, results, help and confirmation."""
