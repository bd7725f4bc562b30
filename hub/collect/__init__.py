"""The collection stage: read each agency source, keep what it delivered, map, check, load."""
