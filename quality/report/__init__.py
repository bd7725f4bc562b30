"""The data-quality report of a period: assembled once, written as HTML, XLSX and JSON."""
