"""The Textual terminal UI: reads the control facade's snapshots and sends its commands."""
