"""tinybeat: labelled ECG heartbeats (CSV) in, an integer-only AVR classifier out."""

__version__ = "0.1.0"
