"""The one error class for unusable data, raised before any training starts."""


class DataError(ValueError):
    """A data folder or image cannot be used; the message names the path, the expected layout and the fix."""
