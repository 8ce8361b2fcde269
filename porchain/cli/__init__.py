"""The `porchain` command line (click)."""
