"""Customer segmentation (placeholder, filled below)."""
__all__: list[str] = []
